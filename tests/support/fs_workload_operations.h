#pragma once
// The kinds of change a filesystem workload makes, in five groups: file contents
// (writes, sizes, holes, reflinks), changes at footprint chunk boundaries in files
// that span chunks, metadata (mode, owner, times, xattrs), the namespace (create,
// delete, rename, swap, change type) and hard links.
#include <vector>

#include "tests/support/fs_workload_context.h"

namespace sctest {

struct WorkloadOperation {
    const char* name;
    void (*apply)(WorkloadContext&);
};

std::vector<WorkloadOperation> contentOperations();
std::vector<WorkloadOperation> chunkOperations();
std::vector<WorkloadOperation> metadataOperations();
std::vector<WorkloadOperation> namespaceOperations();
std::vector<WorkloadOperation> hardLinkOperations();

// One random change of a file's contents or of an entry's metadata, through the
// given name: what the hard-link operations do through one of several names.
void changeContentOf(WorkloadContext& context, const FsEntry& file);
void changeMetadataOf(WorkloadContext& context, const FsEntry& entry);

// Data at an offset past 4 GiB in a file of its own or an existing one: costly to
// hash (every footprint and checksum reads the holes), so the caller decides when.
void writeHugeSparseFile(WorkloadContext& context);

// Adds files spanning several footprint chunks (1 MiB - 1 to a few MiB, some sparse)
// until the tree holds a few, so chunk boundaries always have files to meet.
void keepFilesSpanningChunks(WorkloadContext& context);

} // namespace sctest
