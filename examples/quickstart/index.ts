// Quick start: a slow "dataset download" becomes instant on its second call.
import { cacheValue, memoryStorage } from '@memokit/core'

interface Dataset {
  readonly name: string
  readonly rows: number
  readonly downloadedAt: Date
}

// Stands in for a slow network download.
async function downloadDataset(name: string, options: { rows: number }): Promise<Dataset> {
  await new Promise((resolve) => setTimeout(resolve, 1_500))
  return { name, rows: options.rows, downloadedAt: new Date() }
}

const getDataset = cacheValue(downloadDataset, { storage: memoryStorage(), ttl: '10m', namespace: 'datasets' })

async function timed(label: string): Promise<Dataset> {
  const started = performance.now()
  const dataset = await getDataset('iris', { rows: 150 })
  const ms = performance.now() - started
  console.log(`${label.padEnd(12)} ${ms.toFixed(1).padStart(8)} ms  -> ${dataset.name}, ${dataset.rows} rows`)
  return dataset
}

const first = await timed('first call')
const second = await timed('second call')
if (second !== first) throw new Error('expected the cached dataset on the second call')
console.log(`same object: ${second === first}; key: ${getDataset.keyFor('iris', { rows: 150 })}`)
