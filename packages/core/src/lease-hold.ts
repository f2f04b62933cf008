/**
 * A held lease, kept alive while `fn` runs (lease.ts takes it): the flight is fenced by it, it is extended every
 * third of the lease, and it is given up as lost when it no longer can be (refused, or a whole lease without a
 * successful extension).
 */
import type { Flight } from './flight'
import { type LeasePlan, leaseEvent, leaseOp, releaseQuietly } from './lease-options'
import type { Plan } from './plan'

/** This flight holds the lease: its write is fenced by it, and it keeps it alive while `fn` runs. */
export function hold(plan: Plan, flight: Flight, token: string): void {
  const lease = plan.lease as LeasePlan
  flight.fenced = true
  flight.lease = token
  leaseEvent(plan, 'lease-acquired', flight.key)
  const every = Math.max(1, Math.floor(lease.ttlMs / 3))
  // When the lease was last known held. Extensions that failed (an outage, a closed storage) are retried only until
  // a whole lease has passed since: by then it has lapsed on the server, so its write would be refused anyway, and a
  // closed storage would otherwise be called (and its failure reported) for as long as fn runs.
  let heldAt = Date.now()
  const lost = (): void => {
    flight.lease = undefined
    leaseEvent(plan, 'lease-lost', flight.key)
  }
  const extend = (): void => {
    if (flight.lease !== token) return
    const sent = Date.now()
    void leaseOp(plan, 'extendLease', flight.key, token, lease.ttlMs).then((kept) => {
      if (flight.lease !== token) return
      // Expired, taken over, or removed by an invalidation: the result can no longer be stored.
      if (kept === false) return lost()
      if (kept === true) heldAt = sent
      else if (Date.now() - heldAt >= lease.ttlMs) {
        lost()
        // A failed extension may have been applied (its reply lost): don't leave that lease to block others.
        return releaseQuietly(plan, flight.key, token)
      }
      flight.after(every, extend)
    })
  }
  flight.after(every, extend)
}
