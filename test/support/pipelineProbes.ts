/**
 * Two probes that tests of the pipeline on a real backend share: the
 * backend's audit log service, and its OpenTelemetry metrics.
 */
import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPoint,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BackendFeature,
  createBackendModule,
} from '@backstage/backend-plugin-api';
import {
  AuditLogService,
  auditLogServiceRef,
} from '@backstage-audit/plugin-audit-log-node';

/** Collects on demand, as an exporter's reader would. */
class TestReader extends MetricReader {
  constructor() {
    super({
      aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE,
    });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/**
 * Installs a global meter provider with an on-demand reader (before the
 * backend starts, so the pipeline's meters land on it) and returns a lookup
 * of one metric's value for the given attributes (0 when not recorded).
 */
export function installMetricReader(): (
  name: string,
  attributes: Record<string, string>,
) => Promise<number> {
  const reader = new TestReader();
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  return async (name, attributes) => {
    const { resourceMetrics } = await reader.collect();
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const m of scope.metrics) {
        if (m.descriptor.name !== name) continue;
        const point = (m.dataPoints as DataPoint<number>[]).find(p =>
          Object.entries(attributes).every(([k, v]) => p.attributes[k] === v),
        );
        return point?.value ?? 0;
      }
    }
    return 0;
  };
}

/** A catalog module that hands the backend's audit log service to the test. */
export function auditLogProbe(
  receive: (auditLog: AuditLogService) => void,
  moduleId = 'test-audit-probe',
): BackendFeature {
  return createBackendModule({
    pluginId: 'catalog',
    moduleId,
    register(reg) {
      reg.registerInit({
        deps: { audit: auditLogServiceRef },
        async init({ audit }) {
          receive(audit);
        },
      });
    },
  });
}
