// Just enough PNG decoding to tell a rendered report from a blank page: 8-bit grey, RGB or RGBA,
// not interlaced (what Chromium's screenshots are).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace chaos::report::testing {

struct Image {
  uint32_t width = 0, height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3
};

// Returns false and sets `error` when the file is not a PNG this decoder understands.
bool decode_png(const std::string& bytes, Image& out, std::string& error);

}  // namespace chaos::report::testing
