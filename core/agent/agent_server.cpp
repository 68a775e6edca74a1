#include "core/agent/agent_server.h"

#include "core/agent/agent_protocol.h"
#include "core/agent/peer_watch.h"
#include "core/agent/relay_fan_out.h"
#include "core/agent/relay_links.h"
#include "core/base/error.h"
#include "core/base/file_io.h"
#include "core/base/height_names.h"
#include "core/btrfs/subvolumes.h"
#include "core/footprint/footprint.h"
#include "core/ledger/chain.h"
#include "core/ledger/chain_lock.h"
#include "core/replica/block_receiver.h"
#include "core/replica/replica_target.h"
#include "core/stream/zstd_codec.h"

#include <atomic>
#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <memory>
#include <unistd.h>

namespace fs = std::filesystem;
using nlohmann::json;

namespace sc {

namespace {

// Request fields of the wrong type are the sender's error, answered as such.
const json& fieldOf(const json& object, const char* name) {
    if (!object.is_object() || !object.contains(name))
        throw Error(std::string("agent: request field \"") + name + "\" is missing");
    return object[name];
}
std::string stringField(const json& object, const char* name) {
    const json& value = fieldOf(object, name);
    if (!value.is_string())
        throw Error(std::string("agent: request field \"") + name + "\" must be a string");
    return value.get<std::string>();
}
std::string stringField(const json& object, const char* name, const std::string& fallback) {
    return object.is_object() && object.contains(name) ? stringField(object, name) : fallback;
}
std::uint64_t uintField(const json& object, const char* name) {
    const json& value = fieldOf(object, name);
    if (!value.is_number_unsigned())
        throw Error(std::string("agent: request field \"") + name + "\" must be a non-negative integer");
    return value.get<std::uint64_t>();
}
std::uint64_t uintField(const json& object, const char* name, std::uint64_t fallback) {
    return object.is_object() && object.contains(name) ? uintField(object, name) : fallback;
}
bool boolField(const json& object, const char* name, bool fallback) {
    if (!object.is_object() || !object.contains(name))
        return fallback;
    if (!object[name].is_boolean())
        throw Error(std::string("agent: request field \"") + name + "\" must be true or false");
    return object[name].get<bool>();
}
double numberField(const json& object, const char* name, double fallback) {
    if (!object.is_object() || !object.contains(name))
        return fallback;
    if (!object[name].is_number())
        throw Error(std::string("agent: request field \"") + name + "\" must be a number");
    return object[name].get<double>();
}

std::string existingAncestor(fs::path path) {
    std::error_code ec;
    while (!path.empty() && !fs::exists(path, ec))
        path = path.parent_path();
    return path.empty() ? "/" : path.string();
}

class Agent {
public:
    Agent(const std::string& root, int in, int out)
        : replica_(root), relays_(root), inputFd_(in),
          reader_([in](std::uint8_t* b,
                       std::size_t n) { return readSome(in, b, n, "agent: cannot read from the sender"); },
                  "sender"),
          writer_([out](std::span<const std::uint8_t> bytes) {
              writeAll(out, bytes.data(), bytes.size(), "agent: cannot write to the sender");
          }) {}

    int serve() {
        auto first = reader_.next();
        if (!first)
            return 0;
        if (first->type != FrameType::Hello)
            return refuse("the first frame must be a hello");
        try {
            json hello = first->json("sender");
            const std::uint32_t newest = agentProtocolNewest();
            std::optional<std::uint32_t> protocol = negotiateAgentProtocol(hello, newest);
            if (!protocol)
                return refuse("agent protocols " + std::to_string(kAgentProtocolOldest) + " to " +
                              std::to_string(newest) + " cannot serve a sender of protocol " +
                              toWire(hello.value("protocols", hello["protocol"])));
            protocol_ = *protocol;
            announced_ = chainFromWire(hello.at("chain"));
        } catch (const Error& e) {
            return refuse(e.what());
        } catch (const json::exception& e) {
            return refuse(std::string("malformed hello: ") + e.what());
        }
        writer_.sendJson(FrameType::Hello, describe());
        while (auto frame = reader_.next()) {
            if (frame->type != FrameType::Request) {
                writer_.sendJson(FrameType::Failure, {{"error", std::string("agent: unexpected ") +
                                                                    frameTypeName(frame->type) +
                                                                    " frame outside a request; ignored"}});
                continue;
            }
            // Every malformed request is answered and the session goes on.
            try {
                json request = frame->json("sender");
                const std::string op = stringField(request, "op", "");
                if (op == "bye")
                    return 0;
                senderGone_ = false;
                if (request.contains("route") && !request["route"].empty())
                    forward(request); // for a replica behind this one
                else
                    handle(op, request);
            } catch (const Error& e) {
                writer_.sendJson(FrameType::Failure, {{"error", e.what()}});
            } catch (const json::exception& e) {
                writer_.sendJson(FrameType::Failure, {{"error", std::string("agent: malformed request: ") + e.what()}});
            }
        }
        return 0;
    }

private:
    int refuse(const std::string& why) {
        writer_.sendJson(FrameType::Failure, {{"error", "agent: " + why}});
        return 2;
    }

    json describe() const {
        json info = {{"magic", "streamchain"},
                     {"protocol", protocol_},
                     {"version", STREAMCHAIN_VERSION},
                     {"root", replica_.root()},
                     {"exists", replica_.exists()},
                     {"on_btrfs", btrfs::isOnBtrfs(replica_.root())},
                     {"free_bytes", btrfs::availableBytes(existingAncestor(replica_.root()))},
                     {"bound_chain", nullptr}};
        if (replica_.exists())
            if (auto bound = replica_.binding())
                info["bound_chain"] = bound->id;
        return info;
    }

    void handle(const std::string& op, const json& request) {
        if (op == "prepare")
            return prepare();
        if (op == "list")
            return list();
        if (op == "header")
            return header(heightOf(request));
        if (op == "footprint")
            return footprint(heightOf(request), boolField(request, "tree", false));
        if (op == "spool")
            return spoolState(stringField(request, "key", ""));
        if (op == "receive")
            return receive(request);
        if (op == "relay-key") {
            binding(); // the relay's key lives in a prepared replica of this chain only
            return writer_.sendJson(FrameType::Reply, {{"public_key", relays_.publicKey()}});
        }
        if (op == "downstream")
            return downstream(request);
        throw Error("agent: unknown request \"" + op + "\"");
    }

    static std::uint64_t heightOf(const json& request) {
        if (!request.contains("height") || !request["height"].is_number_unsigned())
            throw Error("agent: request without a valid height");
        return request["height"].get<std::uint64_t>();
    }

    // The replica's own pinned chain; the sender's announcement must agree with it.
    ChainIdentity binding() const {
        std::optional<ChainIdentity> bound = replica_.exists() ? replica_.binding() : std::nullopt;
        if (!bound)
            throw Error("agent: " + replica_.label() + " is not bound to a chain yet (prepare it first)");
        if (bound->id != announced_.id || bound->publicKey != announced_.publicKey)
            throw Error("agent: " + replica_.label() + " belongs to chain " + bound->id + ", not " + announced_.id);
        return *bound;
    }

    void prepare() {
        replica_.prepare(announced_);
        if (!lock_)
            lock_ = std::make_unique<ChainLock>(replica_.lockFile(), replica_.label(), 5.0);
        replica_.cleanStaging();
        fs::create_directories(replica_.spoolDir());
        // A spool is checked by its SHA-256 before any resume: btrfs's own copy-on-write and
        // checksums would only double the cost of writing every stream twice.
        btrfs::disableCopyOnWrite(replica_.spoolDir());
        writer_.sendJson(FrameType::Reply, describe());
    }

    void list() {
        binding();
        json blocks = json::array();
        for (const auto& block : replica_.blocks())
            blocks.push_back({{"height", block.height},
                              {"uuid", btrfs::uuidString(block.uuid)},
                              {"received_uuid", btrfs::uuidString(block.receivedUuid)},
                              {"read_only", block.readOnly}});
        writer_.sendJson(FrameType::Reply, {{"blocks", blocks}});
    }

    std::string blockPath(std::uint64_t height) const {
        std::string path = replica_.blockPath(height);
        if (!btrfs::isSubvolume(path))
            throw Error("agent: block " + std::to_string(height) + " is not on " + replica_.label());
        return path;
    }

    void header(std::uint64_t height) {
        binding();
        std::string text = readBlockHeaderText(blockPath(height));
        writer_.sendJson(FrameType::Reply, {{"text", text}});
    }

    void footprint(std::uint64_t height, bool withTree) {
        const std::string path = blockPath(height);
        // The block's own signed header bounds the work, as it did when the block arrived.
        FootprintOptions options = footprintOptionsBoundedBy(footprintOptionsOf(binding()), readBlockHeader(path).counts);
        options.cancelled = &senderGone_;
        PeerWatch watch(inputFd_, senderGone_);
        // Only a tree asked for (to name the paths of a mismatch) is held; a root alone is streamed.
        TreeSink kept;
        DiscardingSink dropped;
        FootprintResult result;
        try {
            result = walkFootprint(path, options, withTree ? static_cast<EntrySink&>(kept) : dropped);
        } catch (const UnhashableBlock& e) {
            // An answer, not a broken session: the sender reports this block as not matching.
            return writer_.sendJson(FrameType::Failure,
                                    {{"error", "block " + std::to_string(height) + ": " + e.what()}, {"unhashable", true}});
        }
        const std::uint64_t entries = result.counts.entries() + 1; // and the root
        writer_.sendJson(FrameType::Reply, {{"root", result.root.hex()}, {"entries", entries}});
        if (!withTree)
            return;
        std::string bytes = kept.finish(options.algorithm, options.features, options.format, result.root).serialize();
        constexpr std::size_t piece = 8u << 20;
        for (std::size_t at = 0; at < bytes.size(); at += piece)
            writer_.send(FrameType::Data, std::string_view(bytes).substr(at, piece));
        writer_.sendJson(FrameType::End, {{"bytes", bytes.size()}});
    }

    std::string spoolFile(const std::string& key) const {
        if (!isValidSpoolKey(key))
            throw Error("agent: malformed spool key");
        return replica_.spoolDir() + "/" + key + ".stream";
    }

    void spoolState(const std::string& key) {
        binding();
        std::string file = spoolFile(key);
        std::uint64_t size = 0;
        std::string digest;
        if (fs::exists(file)) {
            FileDescriptor fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
            if (!fd)
                throwSystemError("agent: cannot open spool", errno);
            Hasher hasher(HashAlgorithm::Sha256);
            std::vector<std::uint8_t> buffer(1 << 20);
            PeerWatch watch(inputFd_, senderGone_);
            const char* failure = "agent: cannot read spool";
            while (std::size_t n = readSome(fd.get(), buffer.data(), buffer.size(), failure)) {
                if (senderGone_)
                    throw Error("agent: the sender went away");
                hasher.update(std::span(buffer.data(), n));
                size += n;
            }
            digest = hasher.finish().hex();
        }
        writer_.sendJson(FrameType::Reply, {{"bytes", size}, {"sha256", digest}});
    }

    static std::vector<RelayFanOut::Route> relayRoutes(const json& request) {
        std::vector<RelayFanOut::Route> routes;
        if (!request.contains("relay"))
            return routes;
        for (const auto& entry : request.at("relay"))
            routes.push_back(entry.at("route").get<RelayFanOut::Route>());
        return routes;
    }

    // What the stream's trailer must carry: our own check, and those of the replicas we feed.
    TransferChecksums trailerChecksumsWanted(bool keep, const RelayFanOut* relay) const {
        TransferChecksums wanted;
        if (keep)
            wanted.add(transferChecksumOf(protocol_));
        if (relay)
            wanted |= relay->checksumsWanted();
        return wanted;
    }

    // Blocks arrive as one send stream; this replica keeps them (unless it only relays) and
    // passes every frame on to the replicas behind it as it arrives.
    void receive(const json& request) {
        ChainIdentity bound = binding();
        const bool keep = boolField(request, "keep", true);
        const std::vector<RelayFanOut::Route> routes = relayRoutes(request);
        if (keep && !lock_)
            throw Error("agent: prepare the replica before receiving");
        std::vector<IncomingBlock> blocks;
        if (!request.contains("blocks") || !request["blocks"].is_array())
            throw Error("agent: a receive request must list its blocks");
        for (const auto& announced : request["blocks"]) {
            IncomingBlock block;
            block.height = uintField(announced, "height");
            block.uuid = btrfs::parseUuid(stringField(announced, "uuid"));
            block.header = BlockHeader::fromJson(announced.at("header"));
            if (announced.contains("parent") && !announced["parent"].is_null())
                block.parent = uintField(announced, "parent");
            blocks.push_back(std::move(block));
        }
        SpoolOptions spool;
        if (routes.empty() && request.contains("spool_key") && request["spool_key"].is_string()) {
            spool.file = spoolFile(request["spool_key"].get<std::string>());
            spool.resumeFrom = uintField(request, "resume_from", 0);
            spool.stopAboveBytesPerSecond = numberField(request, "spool_max_rate", 0.0);
        }
        std::unique_ptr<BlockReceiver> receiver;
        std::unique_ptr<ZstdDecompressor> decompressor;
        if (keep) {
            receiver = std::make_unique<BlockReceiver>(replica_, bound, std::move(blocks), spool,
                                                       transferChecksumOf(protocol_),
                                                       ReceiveLimits::fromEnvironment(&senderGone_));
            if (boolField(request, "compressed", false))
                decompressor = std::make_unique<ZstdDecompressor>();
        }
        std::unique_ptr<RelayFanOut> relay;
        if (!routes.empty())
            relay = std::make_unique<RelayFanOut>(relays_, request, routes);
        json ready = {{"ready", true}, {"resume_from", receiver ? receiver->bytesReceived() : 0}};
        if (protocol_ >= 2) // version 1: the trailer carries SHA-256, for every replica on the way
            ready["trailer_checksums"] = trailerChecksumsToWire(trailerChecksumsWanted(keep, relay.get()));
        writer_.sendJson(FrameType::Reply, ready);
        std::string failure; // the stream is drained to its end either way, to stay in step with the sender
        while (true) {
            auto frame = reader_.next();
            if (!frame || (frame->type != FrameType::Data && frame->type != FrameType::End)) {
                std::string why = !frame ? "the sender went away in the middle of the stream"
                                         : frame->type == FrameType::Failure
                                               ? frame->json("sender").value("error", std::string("sender gave up"))
                                               : std::string("unexpected ") + frameTypeName(frame->type) +
                                                     " frame in a stream";
                if (relay)
                    relay->abort(why);
                // A sender that gave up keeps the spool unless it found it does not match the stream.
                bool keepSpool = frame && frame->type == FrameType::Failure &&
                                 !frame->json("sender").value("discard_spool", false);
                if (receiver)
                    receiver->abort(!frame || keepSpool);
                if (frame && frame->type == FrameType::Failure)
                    return;
                throw Error("agent: " + why);
            }
            if (relay && frame->type == FrameType::Data)
                relay->forward(*frame);
            else if (relay)
                relay->end(*frame);
            if (frame->type == FrameType::End)
                return finishReceive(*frame, std::move(receiver), std::move(decompressor), relay.get(), failure);
            if (!receiver || !failure.empty())
                continue;
            auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(frame->payload.data()), frame->payload.size());
            try {
                if (decompressor)
                    decompressor->decompress(bytes, [&](std::span<const std::uint8_t> raw) { receiver->write(raw); });
                else
                    receiver->write(std::move(frame->payload));
            } catch (const Error& e) {
                failure = e.what();
            }
        }
    }

    void finishReceive(const Frame& end, std::unique_ptr<BlockReceiver> receiver,
                       std::unique_ptr<ZstdDecompressor> decompressor, RelayFanOut* relay, std::string failure) {
        std::vector<std::uint64_t> published;
        if (receiver) {
            PeerWatch watch(inputFd_, senderGone_); // checking the blocks may take long
            try {
                if (failure.empty() && decompressor)
                    decompressor->finish();
                if (!failure.empty())
                    throw Error(failure);
                json trailer = end.json("sender");
                published = receiver->finish(uintField(trailer, "raw_bytes"),
                                             stringField(trailer, trailerChecksumKey(transferChecksumOf(protocol_))));
            } catch (const Error& e) {
                receiver->abort(false);
                failure = e.what();
            }
        }
        json relayed = relay ? relay->collect() : json::array();
        if (!failure.empty())
            return writer_.sendJson(FrameType::Failure, {{"error", failure}, {"relayed", relayed}});
        writer_.sendJson(FrameType::Reply, {{"published", published}, {"relayed", relayed}});
    }

    // Connect to a replica behind this one, with this relay's own key and pins.
    void downstream(const json& request) {
        ChainIdentity bound = binding(); // a relay serves its own chain only
        DownstreamSpec spec{request.value("url", std::string()), request.value("accept_host_key", std::string()),
                            request.value("agent_path", std::string()), request.value("deploy", false)};
        try {
            // Downstream links offer no newer version than our sender's, so the trailer it
            // makes carries what every replica on the way checks.
            AgentClient& agent = relays_.open(spec, bound, protocol_);
            writer_.sendJson(FrameType::Reply, {{"hello", agent.hello()}});
        } catch (const UnknownHostKeyError& unknown) {
            writer_.sendJson(FrameType::Failure, {{"error", unknown.what()},
                                                  {"host_key", {{"type", unknown.keyType()},
                                                                {"fingerprint", unknown.fingerprint()}}}});
        }
    }

    // A request for a replica behind this one: pass it and its frames on, and the answers back.
    void forward(const json& request) {
        binding();
        auto route = request.at("route").get<std::vector<std::string>>();
        const std::string next = route.front();
        route.erase(route.begin());
        json inner = request;
        if (route.empty())
            inner.erase("route");
        else
            inner["route"] = route;
        const std::string op = request.value("op", std::string());
        AgentClient& agent = relays_.link(next);
        auto passBack = [&] {
            Frame answer = agent.nextFrame("relaying to " + next);
            writer_.send(answer.type, answer.payload);
            return answer.type;
        };
        try {
            agent.sendFrame(FrameType::Request, toWire(inner));
            if (op == "receive")
                return forwardStream(agent, next, passBack);
            if (op == "footprint" && request.value("tree", false)) {
                if (passBack() == FrameType::Reply)
                    while (passBack() == FrameType::Data) {
                    }
                return;
            }
            passBack();
        } catch (const Error&) {
            relays_.drop(next);
            throw;
        }
    }

    template <typename PassBack>
    void forwardStream(AgentClient& agent, const std::string& next, PassBack& passBack) {
        if (passBack() != FrameType::Reply)
            return; // refused before any data
        std::string broken;
        while (true) {
            auto frame = reader_.next();
            if (!frame) {
                if (broken.empty())
                    agent.sendFrame(FrameType::Failure,
                                    toWire(json{{"error", "the sender went away"}, {"discard_spool", false}}));
                throw Error("agent: the sender went away in the middle of the stream");
            }
            if (broken.empty()) {
                try {
                    agent.sendFrame(frame->type, frame->payload);
                } catch (const Error& e) {
                    broken = e.what(); // drain the sender's stream, then report
                    relays_.drop(next);
                }
            }
            if (frame->type == FrameType::Failure)
                return;
            if (frame->type == FrameType::End) {
                if (!broken.empty())
                    return writer_.sendJson(FrameType::Failure, {{"error", broken}});
                passBack();
                return;
            }
        }
    }

    LocalReplica replica_;
    RelayLinks relays_;
    int inputFd_;
    std::atomic<bool> senderGone_{false}; // set by a PeerWatch while a long request runs
    FrameReader reader_;
    FrameWriter writer_;
    ChainIdentity announced_;
    std::uint32_t protocol_ = kAgentProtocolOldest; // negotiated at hello
    std::unique_ptr<ChainLock> lock_;
};

} // namespace

int runAgent(const std::string& root, int inputFd, int outputFd) {
    if (root.empty() || root.front() != '/')
        throw Error("agent: --root must be an absolute path", ExitCode::Usage);
    // sshd hands us pipes: larger ones let it keep decrypting while we feed btrfs receive.
    ::fcntl(inputFd, F_SETPIPE_SZ, kStreamPipeBytes);
    Agent agent(fs::path(root).lexically_normal().string(), inputFd, outputFd);
    return agent.serve();
}

} // namespace sc
