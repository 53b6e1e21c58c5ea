import { useId } from 'react'
import { useService, useServices } from '../../uiState'

/** `<select>` labelled "Service": every service of `services.list`, with instances up / total. */
export function ServicePicker() {
  const id = useId()
  const services = useServices()
  const [service, setService] = useService()
  const known = services?.some((s) => s.service === service) ?? false
  return (
    <div className="control">
      <label htmlFor={id}>Service</label>
      <select
        id={id}
        value={service ?? ''}
        disabled={!services || services.length === 0}
        onChange={(e) => setService(e.target.value)}
      >
        {!services && <option value="">Loading…</option>}
        {services?.length === 0 && <option value="">No services yet</option>}
        {service !== null && services && !known && <option value={service}>{service}</option>}
        {services?.map((s) => (
          <option key={s.service} value={s.service}>
            {s.service} ({s.instancesUp}/{s.instancesTotal} up)
          </option>
        ))}
      </select>
    </div>
  )
}
