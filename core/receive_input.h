#pragma once
// What flows into `btrfs receive`: written to its stdin, hashed for the sender's
// digest, and read command by command for what each block of the stream changes.
// A StreamSink, so a FanOut lane can run it on a thread of its own: the caller goes
// back to the network while receive creates files.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/change_set.h"
#include "core/fan_out.h"
#include "core/hash.h"

namespace sc {

class ReceiveInput : public StreamSink {
public:
    ReceiveInput(int receiveStdin, bool hash);
    ~ReceiveInput() override;

    void write(std::span<const std::uint8_t> raw) override; // never throws: failures are kept for finish
    void finish() override;
    void abort() noexcept override {}
    std::string name() const override { return "btrfs receive"; }

    // Read these once the feeding thread has stopped.
    std::string digestHex() { return digest_.finish().hex(); }
    int writeError() const { return writeError_; } // errno of the first failed write (receive died), or 0
    // One change set per subvolume in the stream, in stream order; null when the
    // stream could not be read (the caller then asks the kernel instead).
    const std::vector<ChangeSet>* changes() const { return readable_ ? &changes_ : nullptr; }

private:
    int stdin_;
    bool hash_;
    int writeError_ = 0;
    Hasher digest_{HashAlgorithm::Sha256};
    std::unique_ptr<SendStreamParser> parser_;
    std::vector<ChangeSet> changes_;
    bool readable_ = true;
};

} // namespace sc
