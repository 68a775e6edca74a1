#include "ui/format.h"

#include <cmath>

namespace ui {

QString formatBytes(double bytes) {
    static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int unit = 0;
    while (std::fabs(bytes) >= 1024 && unit < 4) {
        bytes /= 1024;
        ++unit;
    }
    return unit == 0 ? QString("%1 B").arg(static_cast<qint64>(bytes))
                     : QString("%1 %2").arg(bytes, 0, 'f', bytes < 10 ? 2 : 1).arg(units[unit]);
}

QString formatRate(double bytesPerSecond) { return formatBytes(bytesPerSecond) + "/s"; }

QString formatDuration(double seconds) {
    if (seconds < 1)
        return QString("%1 ms").arg(std::lround(seconds * 1000));
    if (seconds < 60)
        return QString("%1 s").arg(seconds, 0, 'f', seconds < 10 ? 1 : 0);
    auto whole = static_cast<qint64>(seconds);
    if (whole < 3600)
        return QString("%1 min %2 s").arg(whole / 60).arg(whole % 60);
    return QString("%1 h %2 min").arg(whole / 3600).arg((whole % 3600) / 60);
}

QString shortHash(const QString& hex) { return hex.left(12); }

} // namespace ui
