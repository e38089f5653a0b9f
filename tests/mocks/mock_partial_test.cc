// Protocol-aware `partial` faults, observed with real clients (hiredis, libpq, HTTP).
#include <gtest/gtest.h>
