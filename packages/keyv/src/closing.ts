import { createCloseGate } from '@memokit/core/backend'
import { NAME, type Run } from './run'

/** What lets a storage close: operations issued before `close()` finish, later ones never reach the Keyv. */
export interface Closing {
  /** `run` that rejects at once after `close()`, and that `close()` waits for. */
  guard(run: Run): Run
  /** Refuses operations from now on; resolves once those in flight have settled. */
  close(): Promise<void>
}

export function createClosing(): Closing {
  const gate = createCloseGate(NAME)
  return {
    guard: (run) => (op, body, order) => {
      // Not a call on the Keyv: once the user disconnected it, any call would connect its store again.
      if (gate.isClosed()) return gate.refuse(op)
      gate.enter()
      const work = run(op, body, order)
      work.then(gate.leave, gate.leave)
      return work
    },
    close: gate.close,
  }
}
