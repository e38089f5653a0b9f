// Faults are scoped to requests with a shell-style glob on the request key (RPC method, Redis command
// name, SQL text). Case-insensitive, because SQL keywords and Redis commands are.
#pragma once

#include <string_view>

namespace chaos::mocks {

// '*' matches any run of characters, '?' any one character; everything else literally.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace chaos::mocks
