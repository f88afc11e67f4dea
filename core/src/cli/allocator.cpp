#include "cli/allocator.hpp"

#include <cstdlib>

#ifdef MEDSAFE_WITH_MIMALLOC
#include <mimalloc.h>
#endif

namespace medsafe::cli {

std::string allocator_description() {
#ifdef MEDSAFE_WITH_MIMALLOC
  const int version = mi_version();  // e.g. 209 for 2.0.9
  const std::string name = "mimalloc " + std::to_string(version / 100) + "." +
                           std::to_string(version / 10 % 10) + "." + std::to_string(version % 10);
  // Linked is not enough: malloc itself must be mimalloc's, or the link order went wrong.
  void* probe = std::malloc(64);
  const bool serves_malloc = mi_is_in_heap_region(probe);
  std::free(probe);
  return serves_malloc ? name : name + " linked, but malloc is not mimalloc's";
#else
  return "glibc malloc";
#endif
}

}  // namespace medsafe::cli
