// IEEE 754 binary16 <-> binary32 conversions (bit patterns in uint16_t).
#pragma once

#include <cstdint>

namespace edgebench {

// Exact: every half value, subnormals, infinities and NaN (payload kept) widen to a float.
float HalfToFloat(uint16_t half);

// Rounds to nearest, ties to even; overflow gives infinity, NaN stays NaN.
uint16_t FloatToHalf(float value);

}  // namespace edgebench
