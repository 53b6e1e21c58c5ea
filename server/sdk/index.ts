/**
 * Fusebox collector SDK — the single public entry (`import { createCollector } from 'fusebox/sdk'`).
 * See README.md "Collector SDK" for a 10-line example.
 */
export { createCollector, Collector } from './collector'
export type { CollectorOptions, RedisOption } from './collector'
export type { ClusterSeed, RedisClient } from './redisTopology'
export type { CollectorStats } from './collectorStats'
export type { EndedSpanLike, FuseboxSpanProcessor } from './otelSpans'
export type { CacheEventKind } from '../../shared/vocabulary'
export type { Clock } from '../../shared/timeBuckets'
export type { FastifyLike, FastifyPluginLike, HttpMiddleware, HttpMiddlewareOptions } from './httpAdapters'
export { FuseboxBreaker } from './breaker'
export { FuseboxCache } from './cache'
export type { CacheOptions, CacheWriteOptions } from './cache'
export type { BreakerEvent } from './breaker'
export type { BreakerState, BreakerMode, BreakerCommand, BreakerInstanceReport } from '../../shared/schemas'
export { QUEUE_STATES } from './queueWatch'
export type { QueueState, QueueWatcher, WatchableQueue, WatchableWorker, WatchQueueOptions } from './queueWatch'
