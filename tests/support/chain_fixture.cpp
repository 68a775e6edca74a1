#include "tests/support/chain_fixture.h"

#include "core/base/height_names.h"
#include "core/ledger/block_header.h"

#include <algorithm>
#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <stdexcept>
#include <sstream>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sctest {

ChainFixture::ChainFixture(unsigned sizeMiB, const std::string& name,
                           const std::vector<std::string>& initOptions)
    : image_(sizeMiB), root_(image_.path(name)) {
    std::vector<std::string> args{"init", root_};
    args.insert(args.end(), initOptions.begin(), initOptions.end());
    CommandResult init = cli(args);
    if (init.exitCode != 0)
        throw std::runtime_error("streamchain init failed: " + init.err);
}

std::string ChainFixture::data(const std::string& relative) const {
    return relative.empty() ? root_ + "/data" : root_ + "/data/" + relative;
}

std::string ChainFixture::block(std::uint64_t height) const {
    return root_ + "/blocks/" + sc::heightName(height);
}

nlohmann::json ChainFixture::commit(const std::string& message, const std::vector<std::string>& extra) {
    std::vector<std::string> args{"commit", root_, "-m", message, "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    CommandResult result = cli(args);
    if (result.exitCode != 0)
        throw std::runtime_error("streamchain commit failed: " + result.err);
    return nlohmann::json::parse(result.out);
}

std::vector<std::string> namesIn(const std::string& dir) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec))
        names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

std::uintmax_t bytesUnder(const std::string& dir) {
    std::uintmax_t total = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it); it.increment(ec))
        if (it->is_regular_file(ec))
            total += it->file_size(ec);
    return total;
}

bool waitForBytesUnder(const std::string& dir, std::uintmax_t bytes, double seconds) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
        if (bytesUnder(dir) >= bytes)
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

std::vector<std::string> ChainFixture::stagingEntries() const {
    std::vector<std::string> staging;
    for (const auto& name : namesIn(root_ + "/blocks"))
        if (name.rfind(".staging-", 0) == 0)
            staging.push_back(name);
    return staging;
}

std::vector<std::string> ChainFixture::blockNames() const {
    std::vector<std::string> blocks;
    for (const auto& name : namesIn(root_ + "/blocks"))
        if (name.rfind(".staging-", 0) != 0)
            blocks.push_back(name);
    return blocks;
}

std::vector<nlohmann::json> jsonLines(const std::string& text) {
    std::vector<nlohmann::json> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty())
            lines.push_back(nlohmann::json::parse(line));
    return lines;
}

std::vector<nlohmann::json> eventsOf(const CommandResult& result, const std::string& kind) {
    std::vector<nlohmann::json> found;
    for (const auto& line : jsonLines(result.out))
        if (line.value("event", "") == kind)
            found.push_back(line);
    return found;
}

void populateAwkwardTree(const std::string& dir) {
    fs::create_directories(dir + "/with space/nested dir");
    writeFile(dir + "/with space/nested dir/file \"quoted\" 'single'", "quotes\n");
    writeFile(dir + "/new\nline", "a newline in the name\n");
    writeFile(dir + std::string("/bad-utf8-\xff\xfe"), "not utf-8\n");
    writeFile(dir + "/plain.txt", std::string(100000, 'x'));
    fs::create_directories(dir + "/empty-dir");
    fs::create_symlink("plain.txt", dir + "/link-to-plain");
    fs::create_symlink("/nonexistent/target with space", dir + "/dangling-link");
    fs::create_hard_link(dir + "/plain.txt", dir + "/hardlink-to-plain");
    writeFile(dir + "/modes", "mode 0751\n");
    ::chmod((dir + "/modes").c_str(), 04751);
    writeFile(dir + "/owned", "uid 1234 gid 5678\n");
    if (::chown((dir + "/owned").c_str(), 1234, 5678) != 0)
        throw std::runtime_error("chown failed");
    if (::lchown((dir + "/dangling-link").c_str(), 4321, 8765) != 0)
        throw std::runtime_error("lchown failed");
    writeFile(dir + "/xattrs", "has xattrs\n");
    ::setxattr((dir + "/xattrs").c_str(), "user.colour", "blue", 4, 0);
    ::setxattr((dir + "/xattrs").c_str(), "user.empty", "", 0, 0);
    ::setxattr((dir + "/with space").c_str(), "user.on-dir", "1", 1, 0);
    // Sparse: 256 MiB apparent, a little data at both ends.
    int fd = ::open((dir + "/sparse.img").c_str(), O_CREAT | O_WRONLY, 0644);
    if (fd < 0 || ::ftruncate(fd, 256 << 20) != 0 || ::pwrite(fd, "head", 4, 0) != 4 ||
        ::pwrite(fd, "tail", 4, (256 << 20) - 4) != 4)
        throw std::runtime_error("sparse file setup failed");
    ::close(fd);
    ::mkfifo((dir + "/fifo").c_str(), 0640);
    ::mknod((dir + "/chardev").c_str(), S_IFCHR | 0600, makedev(1, 3));
    struct timespec times[2] = {{1000000000, 123456789}, {1000000000, 123456789}};
    ::utimensat(AT_FDCWD, (dir + "/plain.txt").c_str(), times, 0);
}

std::map<int, std::string> replicaStates(const CommandResult& result) {
    std::map<int, std::string> states;
    for (const auto& line : jsonLines(result.out))
        if (line.contains("state"))
            states[line["height"].get<int>()] = line["state"].get<std::string>();
    return states;
}

} // namespace sctest
