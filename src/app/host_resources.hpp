#pragma once
// What the host gives the broker: memory (for the default of max_total_buffer_mb) and open
// file descriptors (for max_connections), and how the C library hands out memory.

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

// Blocks of at least this size are mapped from the kernel on their own and handed back when freed.
inline constexpr std::size_t large_allocation_bytes = 128 * 1024;

// Keeps glibc's malloc mapping blocks of large_allocation_bytes and more on their own, for good.
// By default glibc raises that threshold to the size of each mapped block freed (up to 32 MiB), so
// after the first hash table rehash or store batch a broker's large transient buffers come from
// the heap, between the small blocks that live on (retained messages, their index entries), and
// the holes they leave are never handed back: a 100k retained fill kept 85 bytes per message more
// than it holds. False, changing nothing, when MALLOC_MMAP_THRESHOLD_ is set (the user's choice)
// or the C library is not glibc.
bool pin_large_allocation_threshold();

}  // namespace app
