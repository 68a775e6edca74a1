#pragma once
// How numbers read in the console: bytes, rates, durations, short hashes.
#include <QString>

namespace ui {

QString formatBytes(double bytes);         // "12.3 MiB"
QString formatRate(double bytesPerSecond); // "12.3 MiB/s"
QString formatDuration(double seconds);    // "850 ms", "12 s", "3 min 5 s", "2 h 10 min"
QString shortHash(const QString& hex);     // first 12 hex digits

} // namespace ui
