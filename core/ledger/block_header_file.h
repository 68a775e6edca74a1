#pragma once
// The header file inside a block: BLOCK/.streamchain/header.json. The footprint leaves
// the block-root .streamchain/ out (the header cannot cover itself), so that directory
// may hold exactly this one file, written the same way everywhere: a directory without
// special or group/other-write bits, one regular file of at most kMaxHeaderBytes with
// one link, no special, exec or group/other-write bits, and no xattrs on either. Anything
// else there is content the signature does not cover, and a replica refuses it.
#include <cstddef>
#include <string>

#include "core/footprint/footprint.h"
#include "core/ledger/block_header.h"

namespace sc {

// Where a block's header lives inside its snapshot, relative to the snapshot root.
inline constexpr const char* kHeaderDirectory = ".streamchain";
inline constexpr const char* kHeaderFile = ".streamchain/header.json";
inline constexpr std::size_t kMaxHeaderBytes = 1u << 20;

// Reads the header without following symlinks, blocking on a FIFO or reading more
// than kMaxHeaderBytes; throws sc::Error naming the block and what is wrong.
BlockHeader readBlockHeader(const std::string& snapshotPath);
std::string readBlockHeaderText(const std::string& snapshotPath);

// Footprint options for a block someone else made, bounded by what its signed header
// declares (so a crafted block cannot make us hash a 64 TiB sparse file): no file larger
// than all the block's files together is read, and entries and bytes to hash stay
// within about twice the declared.
FootprintOptions footprintOptionsBoundedBy(FootprintOptions options, const FootprintCounts& declared);

// Replaces whatever the (writable) snapshot holds at .streamchain/ with the header alone,
// leaving the snapshot root's mtime as it was (the footprint covers it).
void writeHeaderDirectory(const std::string& snapshotPath, const BlockHeader& header);

// Throws sc::Error saying what in BLOCK/.streamchain/ is not the header file as written above.
void checkHeaderDirectory(const std::string& snapshotPath);

} // namespace sc
