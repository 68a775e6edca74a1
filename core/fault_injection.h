#pragma once
// Named points where test builds can make the process die or misbehave, so tests
// can prove that a crash at that point leaves everything consistent.
// STREAMCHAIN_FAULT=<point> kills the process with SIGKILL when it reaches <point>.
namespace sc {

#ifdef STREAMCHAIN_FAULT_INJECTION
void faultPoint(const char* point);
bool faultActive(const char* point); // for faults that corrupt rather than kill
#else
inline void faultPoint(const char*) {}
inline bool faultActive(const char*) { return false; }
#endif

} // namespace sc
