#pragma once
// How long and with which seeds the differential test runs: CI defaults that
// stay well within a few minutes, overridden by STREAMCHAIN_DIFF_* environment
// variables and then by command-line options, which are taken out of argv before
// Qt Test sees it.
#include <cstdint>
#include <string>

namespace sctest {

struct DifferentialSettings {
    std::uint64_t seed = 20261125; // fixed for CI, so a red run replays as it is
    std::size_t seeds = 1;         // > 1: a soak over seed, seed + 1, ...
    std::size_t rounds = 12;
    std::size_t operations = 25; // per round
    bool hardLinks = true;
    bool setIdAfterChown = true; // chown, then the setuid/setgid bits chown cleared set again
    bool largeXattrChanges = true; // an xattr's value changed to up to 16000 bytes (else 2000)
    // Every this many rounds (0: never) a write past 4 GiB. Off for CI: each footprint,
    // receive and rsync then reads 4 GiB of holes, about a minute on a busy 2-core
    // machine; soaks turn it on. Tied to the round number, not to the last round, so
    // `--rounds R` replays rounds 1..R of a longer run.
    std::size_t hugeSparseEvery = 0;
    // The chain's footprint format (`streamchain init --footprint-format`): 2 hashes files
    // in 1 MiB chunks, 1 whole; CI runs both, 1 for fewer rounds.
    unsigned footprintFormat = 2;

    std::string describe() const;
    // The options that replay `seed` up to `round` with these settings.
    std::string replayArguments(std::uint64_t seed, std::size_t round) const;
};

// Environment: STREAMCHAIN_DIFF_SEED, _SEEDS, _ROUNDS, _OPERATIONS, _HARD_LINKS=0,
// _SETID_AFTER_CHOWN=0, _LARGE_XATTR_CHANGES=0, _HUGE_SPARSE_EVERY, _FOOTPRINT_FORMAT. Options: --seed S (or "random"),
// --seeds K, --rounds N, --operations N, --no-hard-links, --no-setid-after-chown, --no-large-xattr-changes,
// --huge-sparse-every N, --footprint-format 1|2. The --no-... options look past known failures. Exits
// with a usage message on a bad value; removes what it took from argv and lowers argc.
DifferentialSettings takeDifferentialSettings(int& argc, char** argv);

} // namespace sctest
