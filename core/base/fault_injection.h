#pragma once
// Named points where the tested CLI can be made to die or misbehave, so tests can
// prove that a crash at that point leaves everything consistent.
// STREAMCHAIN_FAULT=<point> kills the process with SIGKILL when it reaches <point>.
// Whether a binary listens is decided when it is linked: the CLI the tests run links
// streamchain_faults_armed, the one the package ships streamchain_faults_inert, so
// both are built from the same objects.
namespace sc {

void faultPoint(const char* point);
bool faultActive(const char* point); // for faults that corrupt or slow down rather than kill

} // namespace sc
