#pragma once
/// MEDSAFE_API marks what the core library exports; the build hides everything else.
#define MEDSAFE_API __attribute__((visibility("default")))
