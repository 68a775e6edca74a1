// Hard links: a second name in the same directory or another one, removing one
// name, renaming one, and changing contents, xattrs, mode, owner or times through
// one name while the others (often in other directories) see the change too.
#include "tests/support/fs_workload_operations.h"

#include <unistd.h>

namespace sctest {

namespace {

// "'a', 'b'": the names a log reader needs to see which directories hold the file too.
std::string otherNames(WorkloadContext& c, const FsEntry& name) {
    std::string names;
    for (const auto& entry : c.tree())
        if (entry.inode == name.inode && entry.isFile() && entry.path != name.path)
            names += (names.empty() ? "" : ", ") + quotedPath(entry.path);
    return names;
}

// Another directory, preferably in another top-level subtree: a change through one
// name then leaves the other name's subtree untouched.
std::string otherDirectory(WorkloadContext& c, const std::string& file) {
    auto far = c.pick([&](const FsEntry& e) {
        return e.isDirectory() && !e.path.empty() && topLevelOf(e.path) != topLevelOf(file);
    });
    if (far && c.chance(75))
        return far->path;
    std::string dir = c.pickDirectory();
    return dir == parentOf(file) ? c.pickDirectory() : dir; // one more try for another directory
}

void addLink(WorkloadContext& c, bool sameDirectory) {
    FsEntry file = c.pickFile();
    std::string dir = sameDirectory ? parentOf(file.path) : otherDirectory(c, file.path);
    std::string name = c.newPathIn(dir);
    c.check(::link(c.absolute(file.path).c_str(), c.absolute(name).c_str()) == 0,
            "hard link " + quotedPath(name) + " => " + quotedPath(file.path) + " (" + std::to_string(file.links + 1) +
                " names)");
}

// A name of a file that has several, often one with a name in another top-level
// subtree; makes a second name in another directory if there is no such file yet.
FsEntry linkedName(WorkloadContext& c) {
    auto spread = c.pick([&](const FsEntry& e) {
        if (!e.isFile() || e.links < 2)
            return false;
        for (const auto& other : c.tree())
            if (other.inode == e.inode && topLevelOf(other.path) != topLevelOf(e.path))
                return true;
        return false;
    });
    if (spread && c.chance(60))
        return *spread;
    if (auto linked = c.pick([](const FsEntry& e) { return e.isFile() && e.links > 1; }))
        return *linked;
    addLink(c, false);
    c.changed();
    return *c.pick([](const FsEntry& e) { return e.isFile() && e.links > 1; });
}

void removeOneName(WorkloadContext& c) {
    FsEntry name = linkedName(c);
    c.check(::unlink(c.absolute(name.path).c_str()) == 0,
            "remove name " + quotedPath(name.path) + " of a file with " + std::to_string(name.links) +
                " names (the others: " + otherNames(c, name) + ")");
}

void renameOneName(WorkloadContext& c) {
    FsEntry name = linkedName(c);
    std::string destination = c.newPath();
    if (c.chance(30)) // over another file: that file loses a name, this one moves
        if (auto other = c.pick([&](const FsEntry& e) { return e.isFile() && e.path != name.path; }))
            destination = other->path;
    c.check(::rename(c.absolute(name.path).c_str(), c.absolute(destination).c_str()) == 0,
            "rename name " + quotedPath(name.path) + " of a file with " + std::to_string(name.links) + " names -> " +
                quotedPath(destination) + " (the others: " + otherNames(c, name) + ")");
}

void changeThroughOneName(WorkloadContext& c) {
    FsEntry name = linkedName(c);
    c.note("through " + quotedPath(name.path) + " (one of " + std::to_string(name.links) +
           " names; the others: " + otherNames(c, name) + "):");
    if (c.chance(50))
        changeContentOf(c, name);
    else
        changeMetadataOf(c, name);
}

} // namespace

std::vector<WorkloadOperation> hardLinkOperations() {
    return {
        {"link-in-same-directory", [](WorkloadContext& c) { addLink(c, true); }},
        {"link-in-other-directory", [](WorkloadContext& c) { addLink(c, false); }},
        {"link-remove-one-name", removeOneName},
        {"link-rename-one-name", renameOneName},
        {"link-change-through-one-name", changeThroughOneName},
        {"link-change-through-one-name", changeThroughOneName}, // the case footprints get wrong most easily
    };
}

} // namespace sctest
