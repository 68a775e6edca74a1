// Linked into the shipped CLI: fault points never fire, whatever the environment says.
namespace sc {
extern const bool kFaultInjectionArmed = false;
}
