#pragma once
// What the host gives the broker: memory (for the default of max_total_buffer_mb) and open
// file descriptors (for max_connections).

#include <cstddef>
#include <string>

namespace app {

// The memory the broker may use: the container's cgroup limit when there is one, else the
// machine's physical memory. 0 when neither can be read.
std::size_t available_memory_bytes();

// The default budget of every client's buffers together: a quarter of the available memory,
// between 64 MiB and 4 GiB (256 MiB when the memory cannot be read).
std::size_t default_total_buffer_bytes(std::size_t available_memory);

// Raises the soft limit of open files to the hard limit. Returns the limit now in force.
std::size_t raise_open_files_limit();

}  // namespace app
