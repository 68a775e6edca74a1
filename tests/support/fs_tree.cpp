#include "tests/support/fs_tree.h"

#include <algorithm>
#include <cerrno>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sctest {

bool FsEntry::isFile() const { return S_ISREG(mode); }
bool FsEntry::isDirectory() const { return S_ISDIR(mode); }
bool FsEntry::isSymlink() const { return S_ISLNK(mode); }

namespace {

std::vector<std::string> sortedNames(const std::string& dir) {
    std::vector<std::string> names;
    DIR* stream = ::opendir(dir.c_str());
    if (!stream)
        return names;
    while (dirent* entry = ::readdir(stream)) {
        std::string name = entry->d_name;
        if (name != "." && name != "..")
            names.push_back(std::move(name));
    }
    ::closedir(stream);
    std::sort(names.begin(), names.end());
    return names;
}

void walk(const std::string& root, const std::string& relative, std::vector<FsEntry>& out) {
    std::string absolute = relative.empty() ? root : root + "/" + relative;
    struct stat st {};
    if (::lstat(absolute.c_str(), &st) != 0)
        return;
    out.push_back({relative, st.st_mode, static_cast<std::uint64_t>(st.st_nlink),
                   static_cast<std::uint64_t>(st.st_size), static_cast<std::uint64_t>(st.st_ino)});
    if (!S_ISDIR(st.st_mode))
        return;
    for (const auto& name : sortedNames(absolute))
        walk(root, joinPath(relative, name), out);
}

} // namespace

std::vector<FsEntry> listTree(const std::string& root) {
    std::vector<FsEntry> entries;
    walk(root, "", entries);
    return entries;
}

bool removeTree(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0)
        return false;
    if (!S_ISDIR(st.st_mode))
        return ::unlink(path.c_str()) == 0;
    for (const auto& name : sortedNames(path))
        if (!removeTree(path + "/" + name))
            return false;
    return ::rmdir(path.c_str()) == 0;
}

std::string quotedPath(const std::string& path) {
    static const char* hex = "0123456789abcdef";
    std::string out = "'";
    for (char c : path) {
        auto byte = static_cast<unsigned char>(c);
        if (c == '\n') {
            out += "\\n";
        } else if (byte < 0x20 || byte >= 0x7f || c == '\\' || c == '\'') {
            out += "\\x";
            out += hex[byte >> 4];
            out += hex[byte & 0xf];
        } else {
            out += c;
        }
    }
    return out + "'";
}

std::string parentOf(const std::string& relative) {
    auto slash = relative.rfind('/');
    return slash == std::string::npos ? std::string() : relative.substr(0, slash);
}

std::string joinPath(const std::string& dir, const std::string& name) {
    return dir.empty() ? name : dir + "/" + name;
}

bool isWithin(const std::string& path, const std::string& dir) {
    if (dir.empty() || path == dir)
        return true;
    return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/';
}

std::string topLevelOf(const std::string& relative) { return relative.substr(0, relative.find('/')); }

const char* typeName(mode_t mode) {
    switch (mode & S_IFMT) {
    case S_IFREG: return "file";
    case S_IFDIR: return "directory";
    case S_IFLNK: return "symlink";
    case S_IFIFO: return "fifo";
    case S_IFSOCK: return "socket";
    case S_IFCHR: return "char-device";
    case S_IFBLK: return "block-device";
    default: return "unknown";
    }
}

} // namespace sctest
