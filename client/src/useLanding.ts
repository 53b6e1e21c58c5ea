import { useSearchParams } from 'react-router'
import { landingPage, type Landing } from './landing'
import { useSnapshotStore } from './store'
import { useServices } from './uiState'

/**
 * What `/` shows (`landingPage`): the fleet view when the URL names no service and more than one service reports,
 * else the Overview. The services are `services.list`'s, or the last snapshot's until the list is known (an offline
 * reload keeps landing where it did).
 */
export function useLanding(): Landing {
  const [params] = useSearchParams()
  const services = useServices()
  const snapshotServices = useSnapshotStore((s) => s.snapshot?.services)
  return landingPage(params.get('service'), services ?? snapshotServices)
}
