// A NestJS-style service (a class with a constructor-injected repository) cached with @cached and @cachedClear,
// with defaults bound once by createMemokit. No NestJS needed: Nest would call these constructors for you.
import { createMemokit, type ErrorReport, memoryStorage } from '@memokit/core'

interface User {
  readonly id: number
  readonly name: string
  readonly team: string
}

/** The database: every call is a query, counted, and takes a few ms. */
class UserRepository {
  queries = 0
  private readonly rows = new Map<number, User>([
    [1, { id: 1, name: 'Ada', team: 'core' }],
    [2, { id: 2, name: 'Grace', team: 'core' }],
    [3, { id: 3, name: 'Linus', team: 'infra' }],
  ])

  async findById(id: number): Promise<User | undefined> {
    return this.query(() => this.rows.get(id))
  }

  async findByTeam(team: string): Promise<User[]> {
    return this.query(() => [...this.rows.values()].filter((user) => user.team === team))
  }

  async rename(id: number, name: string): Promise<void> {
    await this.query(() => {
      const user = this.rows.get(id)
      if (user !== undefined) this.rows.set(id, { ...user, name })
    })
  }

  private async query<T>(run: () => T): Promise<T> {
    this.queries++
    await new Promise((resolve) => setTimeout(resolve, 5))
    return run()
  }
}

// Defaults once, for every service of the app (a Nest module would provide this object).
const onError = (report: ErrorReport): void => console.warn(`cache ${report.op} failed:`, report.error.message)
const memokit = createMemokit({ ttl: '5m', onError })

/** Entries are per service instance (no storage: a memory table collected with the instance). */
class UserService {
  constructor(private readonly users: UserRepository) {}

  @memokit.cached({ namespace: 'users' })
  async getUser(id: number): Promise<User | undefined> {
    return this.users.findById(id)
  }

  @memokit.cached({ namespace: 'users' })
  async team(team: string): Promise<User[]> {
    return this.users.findByTeam(team)
  }

  /** A write: when it settles, this instance's 'users' entries are cleared, so reads see the new name. */
  @memokit.cachedClear({ namespaces: 'users' })
  async rename(id: number, name: string): Promise<void> {
    await this.users.rename(id, name)
  }
}

/** Keyed by tenant over a shared storage (Redis in production): instances of one tenant share entries. */
const shared = createMemokit({ storage: memoryStorage(), ttl: '1m', onError })
class TenantSettings {
  constructor(
    readonly tenantId: string,
    private readonly users: UserRepository,
  ) {}

  @shared.cached({ namespace: 'settings', instanceKey: (self: TenantSettings) => self.tenantId })
  async headcount(): Promise<number> {
    return (await this.users.findByTeam(this.tenantId)).length
  }
}

function check(ok: boolean, what: string): void {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`)
  if (!ok) process.exitCode = 1
}

const repo = new UserRepository()
const service = new UserService(repo) // what Nest's injector does

await service.getUser(1)
await service.getUser(1)
await Promise.all([service.team('core'), service.team('core')])
check(repo.queries === 2, `two reads of user 1 and two concurrent team reads cost ${repo.queries} queries (expected 2)`)

await service.rename(1, 'Ada Lovelace')
const renamed = await service.getUser(1)
check(renamed?.name === 'Ada Lovelace', `after rename(), getUser(1) reads the new name: ${renamed?.name}`)
check(repo.queries === 4, `the write and the re-read cost 2 more queries: ${repo.queries} in total (expected 4)`)

const other = new UserService(repo) // another instance (another request scope, another test module)
const before = repo.queries
await other.getUser(1)
check(repo.queries === before + 1, 'a second service instance has entries of its own: its first read is a query')

const settingsQueries = repo.queries
const [a, b] = [new TenantSettings('core', repo), new TenantSettings('core', repo)]
await a.headcount()
const count = await b.headcount()
await new TenantSettings('infra', repo).headcount()
check(
  repo.queries === settingsQueries + 2,
  `instanceKey: two 'core' instances share one query, 'infra' has its own (${count} core users)`,
)
