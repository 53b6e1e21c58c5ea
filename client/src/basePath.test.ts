import { describe, expect, it } from 'vitest'
import { appUrl, basePathOf, routerBasenameOf } from './basePath'

describe('basePath', () => {
  it('reads the base path from the base URI: "" at the root, /seg/seg under a base, a file counting by its folder', () => {
    expect(basePathOf('http://h/')).toBe('')
    expect(basePathOf('http://h/ops/fusebox/')).toBe('/ops/fusebox')
    expect(basePathOf('http://h/ops/fusebox/index.html')).toBe('/ops/fusebox')
    expect(routerBasenameOf('http://h/')).toBe('/')
    expect(routerBasenameOf('http://h/ops/fusebox/')).toBe('/ops/fusebox/')
  })

  it('resolves app URLs under the base, never above it', () => {
    expect(appUrl('trpc', 'http://h/ops/fusebox/')).toBe('http://h/ops/fusebox/trpc')
    expect(appUrl('api/audit.jsonl?service=a', 'http://h/ops/fusebox/')).toBe('http://h/ops/fusebox/api/audit.jsonl?service=a')
    expect(appUrl('/sw.js', 'http://h/ops/fusebox/')).toBe('http://h/ops/fusebox/sw.js')
    expect(appUrl('', 'http://h/ops/fusebox/')).toBe('http://h/ops/fusebox/')
    expect(appUrl('trpc', 'http://h/')).toBe('http://h/trpc')
  })
})
