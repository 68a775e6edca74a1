#pragma once
// The control protocol's keys and words, named once in core/messages/wire_names.h (no
// dependencies, so the console shares them without linking the engine): wire::kHeight, ...
#include "core/messages/wire_names.h"

namespace ui {
namespace wire = sc::wire;
}
