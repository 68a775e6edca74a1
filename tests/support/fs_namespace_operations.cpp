// The namespace: creating every kind of entry (files, directory trees, empty
// directories, symlinks, fifos, sockets, devices), deleting files and subtrees,
// renames (over an existing entry, directories into other directories, swaps by
// three renames or RENAME_EXCHANGE) and changing the type found at one path.
#include "tests/support/fs_workload_operations.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sctest {

namespace {

const std::array<mode_t, 7> kTypes = {S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK};

bool notRoot(const FsEntry& e) { return !e.path.empty(); }

void createDirectoryTree(WorkloadContext& c) {
    std::string dir = c.newDirectoryPath();
    if (!c.create(dir, S_IFDIR))
        return;
    for (std::uint64_t i = 0, n = c.below(7); i < n; ++i) {
        std::string parent = dir;
        if (c.chance(30)) { // a nested directory, so renames move deeper trees
            parent = c.newPathIn(dir);
            if (parent.size() <= dir.size() || !c.create(parent, S_IFDIR))
                parent = dir;
        }
        std::string child = c.newPathIn(parent);
        c.create(child, c.chance(70) ? S_IFREG : kTypes[c.below(kTypes.size())]);
    }
}

void createSpecialFile(WorkloadContext& c) {
    static const std::array<mode_t, 4> kSpecial = {S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK};
    c.create(c.newPath(), kSpecial[c.below(kSpecial.size())]);
}

void deleteEntry(WorkloadContext& c) {
    if (auto entry = c.pick([](const FsEntry& e) { return notRoot(e) && !e.isDirectory(); }))
        c.check(::unlink(c.absolute(entry->path).c_str()) == 0,
                std::string("delete ") + typeName(entry->mode) + " " + quotedPath(entry->path));
}

void deleteSubtree(WorkloadContext& c) {
    auto dir = c.pick([](const FsEntry& e) { return notRoot(e) && e.isDirectory(); });
    if (!dir)
        return;
    std::size_t entries = 0;
    for (const auto& entry : c.tree())
        entries += isWithin(entry.path, dir->path) ? 1u : 0u;
    c.check(removeTree(c.absolute(dir->path)),
            "delete subtree " + quotedPath(dir->path) + " (" + std::to_string(entries) + " entries)");
}

// Whether `moved` (with everything below it) may take the name `destination`
// without a path growing past the limit.
bool fits(WorkloadContext& c, const std::string& moved, const std::string& destination) {
    return c.longestPathWithin(moved) - moved.size() + destination.size() <= c.options().maxPathBytes;
}

bool renameLogged(WorkloadContext& c, const std::string& from, const std::string& to, const std::string& why) {
    return c.check(::rename(c.absolute(from).c_str(), c.absolute(to).c_str()) == 0,
                   "rename " + quotedPath(from) + " -> " + quotedPath(to) + why);
}

void renameOverExisting(WorkloadContext& c) {
    auto source = c.pick([](const FsEntry& e) { return notRoot(e) && !e.isDirectory(); });
    if (!source)
        return;
    auto target = c.pick([&](const FsEntry& e) { return notRoot(e) && !e.isDirectory() && e.path != source->path; });
    if (!target)
        return;
    renameLogged(c, source->path, target->path,
                 std::string(" (") + typeName(source->mode) + " over " + typeName(target->mode) + ")");
}

void moveEntry(WorkloadContext& c) {
    auto source = c.pick([](const FsEntry& e) { return notRoot(e) && !e.isDirectory(); });
    if (source)
        renameLogged(c, source->path, c.newPath(), "");
}

void renameDirectory(WorkloadContext& c) {
    auto dir = c.pick([](const FsEntry& e) { return notRoot(e) && e.isDirectory(); });
    if (!dir)
        return;
    // Over an empty directory now and then; else a new name, often in another directory.
    auto emptyTarget = c.pick([&](const FsEntry& e) {
        return notRoot(e) && e.isDirectory() && !isWithin(e.path, dir->path) &&
               c.longestPathWithin(e.path) == e.path.size();
    });
    std::string destination;
    if (emptyTarget && c.chance(25)) {
        destination = emptyTarget->path;
    } else {
        std::string parent = c.chance(30) ? parentOf(dir->path) : c.pickDirectory();
        if (isWithin(parent, dir->path))
            parent = parentOf(dir->path);
        destination = c.newPathIn(parent);
    }
    if (fits(c, dir->path, destination))
        renameLogged(c, dir->path, destination, emptyTarget && destination == emptyTarget->path
                                                    ? " (over an empty directory)"
                                                    : " (directory)");
}

void swapEntries(WorkloadContext& c) {
    auto first = c.pick(notRoot);
    if (!first)
        return;
    auto second = c.pick([&](const FsEntry& e) {
        return notRoot(e) && !isWithin(e.path, first->path) && !isWithin(first->path, e.path);
    });
    if (!second || !fits(c, first->path, second->path) || !fits(c, second->path, first->path))
        return;
    const std::string& a = first->path;
    const std::string& b = second->path;
    if (c.chance(50)) {
        c.check(::renameat2(AT_FDCWD, c.absolute(a).c_str(), AT_FDCWD, c.absolute(b).c_str(), RENAME_EXCHANGE) == 0,
                "exchange " + quotedPath(a) + " <-> " + quotedPath(b) + " (RENAME_EXCHANGE)");
        return;
    }
    std::string aside = c.newPathIn(parentOf(a));
    if (renameLogged(c, a, aside, " (swap 1/3)") && renameLogged(c, b, a, " (swap 2/3)"))
        renameLogged(c, aside, b, " (swap 3/3)");
}

// Cycles through file -> directory -> symlink -> file and fifo -> file, with random
// other types between, so one path carries many kinds of object across blocks.
mode_t nextType(WorkloadContext& c, mode_t current) {
    if (c.chance(40)) {
        mode_t type = current;
        while (type == current)
            type = kTypes[c.below(kTypes.size())];
        return type;
    }
    switch (current) {
    case S_IFREG: return S_IFDIR;
    case S_IFDIR: return S_IFLNK;
    case S_IFCHR: return S_IFBLK;
    case S_IFBLK: return S_IFSOCK;
    case S_IFSOCK: return S_IFIFO;
    default: return S_IFREG;
    }
}

void changeType(WorkloadContext& c) {
    auto& retyped = c.retypedPaths();
    std::optional<FsEntry> entry;
    if (!retyped.empty() && c.chance(50)) {
        std::string path = c.oneOf(retyped);
        entry = c.pick([&](const FsEntry& e) { return e.path == path; });
    }
    if (!entry)
        entry = c.pick(notRoot);
    if (!entry)
        return;
    mode_t type = nextType(c, entry->mode & S_IFMT);
    c.note(std::string("change type of ") + quotedPath(entry->path) + ": " + typeName(entry->mode) + " -> " +
           typeName(type));
    if (c.check(removeTree(c.absolute(entry->path)), "  remove " + quotedPath(entry->path)))
        c.create(entry->path, type);
    if (std::find(retyped.begin(), retyped.end(), entry->path) == retyped.end())
        retyped.push_back(entry->path);
    if (retyped.size() > 16)
        retyped.erase(retyped.begin());
}

} // namespace

std::vector<WorkloadOperation> namespaceOperations() {
    return {
        {"create-file", [](WorkloadContext& c) { c.create(c.newPath(), S_IFREG); }},
        {"create-directory-tree", createDirectoryTree},
        {"create-empty-directory", [](WorkloadContext& c) { c.create(c.newDirectoryPath(), S_IFDIR); }},
        {"create-symlink", [](WorkloadContext& c) { c.create(c.newPath(), S_IFLNK); }},
        {"create-special-file", createSpecialFile},
        {"delete-file", deleteEntry},
        {"delete-subtree", deleteSubtree},
        {"rename-over-existing", renameOverExisting},
        {"move-entry", moveEntry},
        {"rename-directory", renameDirectory},
        {"swap-entries", swapEntries},
        {"change-type", changeType},
    };
}

} // namespace sctest
