// Linked into the CLI the tests run: STREAMCHAIN_FAULT=<point> is obeyed.
namespace sc {
extern const bool kFaultInjectionArmed = true;
}
