#include "core/receive_input.h"

#include "core/error.h"

#include <cerrno>
#include <unistd.h>

namespace sc {

ReceiveInput::ReceiveInput(int receiveStdin, bool hash) : stdin_(receiveStdin), hash_(hash) {
    // btrfs receive checks each command's CRC itself; here only the names matter.
    parser_ = std::make_unique<SendStreamParser>(
        [this](const SendCommand& command) {
            if (command.type == SendCommandType::Subvol || command.type == SendCommandType::Snapshot)
                changes_.emplace_back();
            else if (changes_.empty())
                throw Error("send stream: a command before any subvolume");
            changes_.back().add(command);
        },
        SendStreamParser::Mode::HeadersOnly);
}

ReceiveInput::~ReceiveInput() = default;

void ReceiveInput::write(std::span<const std::uint8_t> raw) {
    if (hash_)
        digest_.update(raw);
    if (readable_) {
        try {
            parser_->feed(raw);
        } catch (const Error&) {
            readable_ = false; // receive will say what is wrong with it
        }
    }
    if (writeError_)
        return; // keep hashing: a corrupted stream must be named as such at the end
    for (std::size_t done = 0; done < raw.size();) {
        ssize_t n = ::write(stdin_, raw.data() + done, raw.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            writeError_ = errno;
            return;
        }
        done += static_cast<std::size_t>(n);
    }
}

void ReceiveInput::finish() {
    if (!readable_)
        return;
    try {
        parser_->finish();
    } catch (const Error&) {
        readable_ = false;
    }
}

} // namespace sc
