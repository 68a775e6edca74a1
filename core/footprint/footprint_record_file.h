#pragma once
// One footprint record on disk (version 3): entries in walk order, written as the walk
// meets them and read back front to back, so neither side holds the tree. A digest not
// known yet when its entry is written is filled in place later; files' chunk digests,
// whose length is not known until hashed, sit in a section after the entries. Layout:
//   "SCFPTREE", u32 version 3, u32 footprint format, u32 features, u8 algorithm, u8 digest size
//   per entry: u8 1, u32 path length, path, u8 type, digest, u64 size, u64 inode, i64 ctime ns,
//     i64 mtime ns, u32 link count, and for a format-2 file: u64 offset and u64 count of its
//     chunk digests in the chunk section (offset all ones: none)
//   u8 0; chunk section: per chunk u64 index and digest
//   trailer: root digest, u64 entry count, u64 where the chunk section starts, SHA-256 of
//     everything before it
// Integers are little-endian. Records of versions 1 and 2 (whole trees in byte order of
// paths, footprint_tree.h) are still read, whole.
#include <memory>
#include <string>

#include "core/base/file_io.h"
#include "core/footprint/footprint_entries.h"

namespace sc {

// Writes a record to a temporary file beside `path`; keep() puts it in place. A writer
// dropped before keep() leaves nothing behind. A record is a cache: a write that fails
// (no space, an I/O error) does not stop the walk feeding it; the writer keeps nothing
// from then on, and keep() throws the first error.
class RecordFileWriter : public EntrySink {
public:
    RecordFileWriter(std::string path, const EntryStreamInfo& settings);
    ~RecordFileWriter() override;
    RecordFileWriter(const RecordFileWriter&) = delete;
    RecordFileWriter& operator=(const RecordFileWriter&) = delete;

    Slot add(const std::string& path, const FootprintEntry& entry) override;
    void complete(Slot slot, const Digest& digest, std::shared_ptr<const ChunkDigests> chunks) override;
    // Seals the record (every slot completed) under its temporary name; it can be read there.
    void finish(const Digest& root);
    void throwIfFailed() const; // sc::Error with the first write that failed
    const std::string& temporaryPath() const { return temporary_; }
    void keep(); // syncs the finished record and renames it to its path; throws if any write failed

private:
    void seal(const Digest& root);
    void flush();
    void patch(std::uint64_t offset, const std::string& bytes);
    void completeOrThrow(Slot slot, const Digest& digest, const std::shared_ptr<const ChunkDigests>& chunks);
    void fail(const std::exception& e); // keeps the first error, drops what is buffered
    std::string path_, temporary_;
    EntryStreamInfo settings_;
    std::uint8_t digestSize_;
    FileDescriptor file_, chunkSection_;
    std::string buffer_;            // entries not yet written
    std::uint64_t bufferAt_ = 0;    // the file offset of buffer_'s first byte
    std::uint64_t chunkBytes_ = 0;  // written to chunkSection_ so far
    std::uint64_t entries_ = 0;
    bool finished_ = false, kept_ = false;
    std::string error_; // the first write that failed
};

// Reads a record of any version; throws sc::Error if it is missing, damaged (its checksum
// is checked before the first entry is handed out) or malformed.
std::unique_ptr<EntrySource> openRecordFile(const std::string& path);

} // namespace sc
