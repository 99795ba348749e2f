#include "runtime/collective.h"

#include <atomic>

namespace graft {
namespace {
std::atomic<Communicator*> current{nullptr};
}  // namespace

Communicator* CurrentCommunicator() { return current.load(std::memory_order_acquire); }
void SetCurrentCommunicator(Communicator* comm) { current.store(comm, std::memory_order_release); }

}  // namespace graft
