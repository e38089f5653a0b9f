// Minimal PNG decoder for the render test (see png.h).
#include "png.h"

#include <zlib.h>

#include <cstdlib>
#include <cstring>

namespace chaos::report::testing {
namespace {

uint32_t be32(const std::string& b, size_t at) {
  return (uint32_t(uint8_t(b[at])) << 24) | (uint32_t(uint8_t(b[at + 1])) << 16) |
         (uint32_t(uint8_t(b[at + 2])) << 8) | uint32_t(uint8_t(b[at + 3]));
}

uint8_t paeth(int a, int b, int c) {
  int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return uint8_t(a);
  return pb <= pc ? uint8_t(b) : uint8_t(c);
}

}  // namespace

bool decode_png(const std::string& bytes, Image& out, std::string& error) {
  static const char kSig[] = "\x89PNG\r\n\x1a\n";
  if (bytes.size() < 8 || std::memcmp(bytes.data(), kSig, 8) != 0) return error = "not a PNG", false;
  uint8_t depth = 0, colour = 0, interlace = 0;
  std::string idat;
  for (size_t at = 8; at + 8 <= bytes.size();) {
    uint32_t len = be32(bytes, at);
    std::string type = bytes.substr(at + 4, 4);
    if (at + 12 + len > bytes.size()) return error = "truncated chunk " + type, false;
    if (type == "IHDR") {
      out.width = be32(bytes, at + 8);
      out.height = be32(bytes, at + 12);
      depth = uint8_t(bytes[at + 16]);
      colour = uint8_t(bytes[at + 17]);
      interlace = uint8_t(bytes[at + 20]);
    } else if (type == "IDAT") {
      idat.append(bytes, at + 8, len);
    } else if (type == "IEND") {
      break;
    }
    at += 12 + len;
  }
  size_t channels = colour == 0 ? 1 : colour == 2 ? 3 : colour == 6 ? 4 : 0;
  if (depth != 8 || channels == 0 || interlace != 0 || out.width == 0 || out.height == 0) {
    return error = "unsupported PNG (depth " + std::to_string(depth) + ", colour type " + std::to_string(colour) +
                   ", interlace " + std::to_string(interlace) + ")",
           false;
  }
  const size_t stride = out.width * channels;
  std::vector<uint8_t> raw((stride + 1) * out.height);
  uLongf raw_len = raw.size();
  if (uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK ||
      raw_len != raw.size()) {
    return error = "cannot inflate image data", false;
  }
  std::vector<uint8_t> prev(stride, 0), cur(stride);
  out.rgb.assign(size_t(out.width) * out.height * 3, 0);
  for (uint32_t y = 0; y < out.height; ++y) {
    const uint8_t* line = raw.data() + y * (stride + 1);
    uint8_t filter = line[0];
    for (size_t i = 0; i < stride; ++i) {
      int a = i >= channels ? cur[i - channels] : 0, b = prev[i], c = i >= channels ? prev[i - channels] : 0;
      uint8_t x = line[1 + i];
      switch (filter) {
        case 0: cur[i] = x; break;
        case 1: cur[i] = uint8_t(x + a); break;
        case 2: cur[i] = uint8_t(x + b); break;
        case 3: cur[i] = uint8_t(x + (a + b) / 2); break;
        case 4: cur[i] = uint8_t(x + paeth(a, b, c)); break;
        default: return error = "bad filter " + std::to_string(filter), false;
      }
    }
    for (uint32_t xpx = 0; xpx < out.width; ++xpx) {
      uint8_t* px = &out.rgb[(size_t(y) * out.width + xpx) * 3];
      const uint8_t* in = &cur[xpx * channels];
      px[0] = in[0];
      px[1] = channels >= 3 ? in[1] : in[0];
      px[2] = channels >= 3 ? in[2] : in[0];
    }
    prev.swap(cur);
  }
  return true;
}

}  // namespace chaos::report::testing
