#include "core/footprint/footprint_tree.h"

#include "core/base/error.h"
#include "core/base/file_io.h"

#include <cstring>

namespace sc {

const FootprintEntry* FootprintTree::find(const std::string& path) const {
    auto it = entries_.find(path);
    return it == entries_.end() ? nullptr : &it->second;
}

const FootprintEntry& FootprintTree::at(const std::string& path) const {
    auto it = entries_.find(path);
    if (it == entries_.end())
        throw Error("footprint has no entry for " + displayPath(path));
    return it->second;
}

void FootprintTree::copySubtree(const FootprintTree& from, const std::string& path) {
    auto self = from.entries_.find(path);
    if (self == from.entries_.end())
        return;
    entries_[path] = self->second;
    std::string prefix = path.empty() ? std::string() : path + "/";
    for (auto it = from.entries_.lower_bound(prefix); it != from.entries_.end(); ++it) {
        if (it->first.compare(0, prefix.size(), prefix) != 0)
            break;
        if (!it->first.empty())
            entries_.insert_or_assign(it->first, it->second);
    }
}

std::vector<std::string> FootprintTree::children(const std::string& dir) const {
    std::vector<std::string> result;
    std::string prefix = dir.empty() ? std::string() : dir + "/";
    for (auto it = entries_.lower_bound(prefix); it != entries_.end(); ++it) {
        if (it->first.compare(0, prefix.size(), prefix) != 0)
            break;
        if (it->first.size() > prefix.size() && it->first.find('/', prefix.size()) == std::string::npos)
            result.push_back(it->first);
    }
    return result;
}

void countEntry(FootprintCounts& counts, const FootprintEntry& entry) {
    switch (entry.type) {
    case EntryType::File:
        ++counts.files;
        counts.bytes += entry.size;
        break;
    case EntryType::Directory: ++counts.directories; break;
    case EntryType::Symlink: ++counts.symlinks; break;
    default: ++counts.others;
    }
}

FootprintCounts FootprintTree::counts() const {
    FootprintCounts c;
    for (const auto& [path, entry] : entries_)
        if (!path.empty())
            countEntry(c, entry);
    return c;
}

namespace {

constexpr char kMagic[8] = {'S', 'C', 'F', 'P', 'T', 'R', 'E', 'E'};
// Version 2 records are written by streamchain 0.2 on; version 1 records may hold a stale
// digest for a hard-linked file (see withEveryNameOfChangedInodes), so they still name
// paths but are never reused for a new footprint.
constexpr std::uint32_t kFileVersion = 2;
constexpr std::uint32_t kOldestFileVersion = 1;

void putInt(std::string& out, std::uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i)
        out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

struct Reader {
    const std::string& data;
    std::size_t at = 0;
    const std::string& file;
    std::uint64_t integer(int bytes) {
        need(static_cast<std::size_t>(bytes));
        std::uint64_t v = 0;
        for (int i = 0; i < bytes; ++i)
            v |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(data[at++])) << (8 * i);
        return v;
    }
    std::string bytes(std::size_t n) {
        need(n);
        std::string s = data.substr(at, n);
        at += n;
        return s;
    }
    void need(std::size_t n) {
        if (data.size() - at < n)
            throw Error(file + " is truncated");
    }
};

// Format 2 files: a flag, then the chunk digests (size, count, then index and digest each).
void putChunks(std::string& out, const ChunkDigests* chunks) {
    putInt(out, chunks ? 1 : 0, 1);
    if (!chunks)
        return;
    putInt(out, chunks->size, 8);
    putInt(out, chunks->leaves.size(), 8);
    for (const auto& [index, digest] : chunks->leaves) {
        putInt(out, index, 8);
        putInt(out, digest.size, 1);
        out.append(reinterpret_cast<const char*>(digest.bytes.data()), digest.size);
    }
}

template <typename ReadDigest>
std::shared_ptr<const ChunkDigests> readChunks(Reader& in, ReadDigest& readDigest, std::uint64_t fileSize) {
    if (in.integer(1) == 0)
        return nullptr;
    auto chunks = std::make_shared<ChunkDigests>();
    chunks->size = in.integer(8);
    std::uint64_t count = in.integer(8);
    const std::uint64_t limit = chunkCount(chunks->size);
    if (chunks->size != fileSize || count > limit)
        throw Error(in.file + " is malformed (chunk digests)");
    for (std::uint64_t i = 0; i < count; ++i) {
        std::uint64_t index = in.integer(8);
        if (index >= limit || (!chunks->leaves.empty() && index <= chunks->leaves.rbegin()->first))
            throw Error(in.file + " is malformed (chunk digests)");
        chunks->leaves.emplace_hint(chunks->leaves.end(), index, readDigest());
    }
    return chunks;
}

} // namespace

void FootprintTree::save(const std::string& file) const { writeFileAtomically(file, serialize(), 0600); }

FootprintTree FootprintTree::load(const std::string& file) {
    return deserialize(readSmallFile(file, std::size_t{1} << 34), "footprint record " + file);
}

std::string FootprintTree::serialize() const {
    std::string out(kMagic, sizeof kMagic);
    putInt(out, kFileVersion, 4);
    putInt(out, format_, 4);
    putInt(out, features_, 4);
    putInt(out, static_cast<std::uint64_t>(algorithm_), 1);
    putInt(out, root_.size, 1);
    out.append(reinterpret_cast<const char*>(root_.bytes.data()), root_.size);
    putInt(out, entries_.size(), 8);
    for (const auto& [path, e] : entries_) {
        putInt(out, path.size(), 4);
        out += path;
        putInt(out, static_cast<std::uint64_t>(e.type), 1);
        putInt(out, e.digest.size, 1);
        out.append(reinterpret_cast<const char*>(e.digest.bytes.data()), e.digest.size);
        putInt(out, e.size, 8);
        putInt(out, e.inode, 8);
        putInt(out, static_cast<std::uint64_t>(e.ctimeNs), 8);
        putInt(out, static_cast<std::uint64_t>(e.mtimeNs), 8);
        putInt(out, e.nlink, 4);
        if (format_ == kFootprintFormatChunked && e.type == EntryType::File)
            putChunks(out, e.chunks.get());
    }
    Digest check = hashBytes(HashAlgorithm::Sha256, out);
    out.append(reinterpret_cast<const char*>(check.bytes.data()), check.size);
    return out;
}

FootprintTree FootprintTree::deserialize(const std::string& data, const std::string& file) {
    if (data.size() < sizeof kMagic + 32 || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0)
        throw Error(file + " is not a footprint record");
    std::string body = data.substr(0, data.size() - 32);
    if (hashBytes(HashAlgorithm::Sha256, body).hex() != toHex(std::string_view(data).substr(data.size() - 32)))
        throw Error(file + " is corrupted (checksum mismatch)");
    Reader in{body, sizeof kMagic, file};
    auto version = static_cast<std::uint32_t>(in.integer(4));
    auto format = static_cast<std::uint32_t>(in.integer(4));
    if (version < kOldestFileVersion || version > kFileVersion || !knownFootprintFormat(format))
        throw Error(file + " has an unsupported version");
    auto features = static_cast<std::uint32_t>(in.integer(4));
    auto algorithm = static_cast<HashAlgorithm>(in.integer(1));
    FootprintTree tree(algorithm, features, format);
    tree.reusable_ = version == kFileVersion;
    auto readDigest = [&] {
        Digest d;
        d.size = static_cast<std::uint8_t>(in.integer(1));
        if (d.size > d.bytes.size())
            throw Error(file + " is malformed");
        std::string raw = in.bytes(d.size);
        std::memcpy(d.bytes.data(), raw.data(), d.size);
        return d;
    };
    tree.root_ = readDigest();
    std::uint64_t count = in.integer(8);
    for (std::uint64_t i = 0; i < count; ++i) {
        std::string path = in.bytes(static_cast<std::size_t>(in.integer(4)));
        FootprintEntry e;
        e.type = static_cast<EntryType>(in.integer(1));
        e.digest = readDigest();
        e.size = in.integer(8);
        e.inode = in.integer(8);
        e.ctimeNs = static_cast<std::int64_t>(in.integer(8));
        e.mtimeNs = static_cast<std::int64_t>(in.integer(8));
        e.nlink = static_cast<std::uint32_t>(in.integer(4));
        if (format == kFootprintFormatChunked && e.type == EntryType::File)
            e.chunks = readChunks(in, readDigest, e.size);
        tree.entries_.emplace_hint(tree.entries_.end(), std::move(path), e);
    }
    if (in.at != body.size())
        throw Error(file + " has trailing bytes");
    return tree;
}

static void diffInto(const FootprintTree& expected, const FootprintTree& actual, const std::string& dir,
                     std::vector<FootprintDifference>& out) {
    std::map<std::string, int> names; // 1 expected, 2 actual, 3 both
    for (const auto& path : expected.children(dir))
        names[path] |= 1;
    for (const auto& path : actual.children(dir))
        names[path] |= 2;
    for (const auto& [path, where] : names) {
        if (where == 1) {
            out.push_back({path, DifferenceKind::Removed});
            continue;
        }
        if (where == 2) {
            out.push_back({path, DifferenceKind::Added});
            continue;
        }
        const FootprintEntry& a = expected.at(path);
        const FootprintEntry& b = actual.at(path);
        if (a.digest == b.digest)
            continue;
        if (a.type == EntryType::Directory && b.type == EntryType::Directory) {
            std::size_t before = out.size();
            diffInto(expected, actual, path, out);
            if (out.size() == before) // the directory's own metadata changed
                out.push_back({path, DifferenceKind::Changed});
        } else {
            out.push_back({path, DifferenceKind::Changed});
        }
    }
}

std::vector<FootprintDifference> diffFootprints(const FootprintTree& expected, const FootprintTree& actual) {
    std::vector<FootprintDifference> out;
    if (expected.root() == actual.root())
        return out;
    diffInto(expected, actual, "", out);
    if (out.empty())
        out.push_back({"", DifferenceKind::Changed});
    return out;
}

std::string displayPath(std::string_view raw) {
    if (raw.empty())
        return "/";
    std::string out;
    std::size_t i = 0;
    auto hex = [&](unsigned char c) {
        static const char digits[] = "0123456789abcdef";
        out += "\\x";
        out += digits[c >> 4];
        out += digits[c & 0xf];
    };
    while (i < raw.size()) {
        auto c = static_cast<unsigned char>(raw[i]);
        if (c == '\\') {
            out += "\\\\";
            ++i;
        } else if (c == '\n') {
            out += "\\n";
            ++i;
        } else if (c < 0x20 || c == 0x7f) {
            hex(c);
            ++i;
        } else if (c < 0x80) {
            out += static_cast<char>(c);
            ++i;
        } else {
            // Keep well-formed UTF-8 sequences; escape anything else byte by byte.
            std::size_t length = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
            bool valid = length > 0 && i + length <= raw.size();
            for (std::size_t k = 1; valid && k < length; ++k)
                valid = (static_cast<unsigned char>(raw[i + k]) >> 6) == 0x2;
            if (valid) {
                out.append(raw.substr(i, length));
                i += length;
            } else {
                hex(c);
                ++i;
            }
        }
    }
    return out;
}

} // namespace sc
