// Real-time bounds in tests that run under a sanitizer. ASan + UBSan and TSan builds run several times
// slower than Release and add work at process exit (LeakSanitizer's scan), and CI runs them on a
// loaded 2-core machine beside other tests. A bound that is a requirement (e.g. "SIGTERM exits within
// 1 s") is checked as written in Release and scaled here, so the sanitizer run still catches a hang
// without judging the instrumentation's speed.
#pragma once

namespace chaos::testkit {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

// How many times longer a real-time bound may be in this build.
inline constexpr int kTimeScale = kSanitized ? 5 : 1;

// `bound` in Release, kTimeScale times `bound` under a sanitizer.
template <class Duration>
constexpr Duration scaled(Duration bound) {
  return bound * kTimeScale;
}

}  // namespace chaos::testkit
