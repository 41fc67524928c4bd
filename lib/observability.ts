import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * One logger and one metrics buffer per process, shared by the core and the handlers.
 * Powertools writes one JSON object per line (logs) and CloudWatch EMF (metrics); the
 * service name, namespace and level come from POWERTOOLS_* variables.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'voxconf' });

export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'voxconf',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'voxconf',
});

export { MetricUnit };

/** What the core reports; the default writes Powertools metrics, tests may pass their own. */
export interface ConferenceMetrics {
  conferenceStarted(): void;
  voximplantError(voximplantCode: number): void;
  failed(code: string): void;
  retry(): void;
  credentialsRefreshed(): void;
  upstreamLatency(ms: number): void;
}

export const powertoolsMetrics: ConferenceMetrics = {
  conferenceStarted: () => metrics.addMetric('ConferencesStarted', MetricUnit.Count, 1),
  voximplantError: (voximplantCode) => {
    // A per-code dimension must not leak onto the other metrics of the invocation.
    const single = metrics.singleMetric();
    single.addDimension('voximplant_code', String(voximplantCode));
    single.addMetric('VoximplantErrors', MetricUnit.Count, 1);
  },
  failed: (code) => {
    const single = metrics.singleMetric();
    single.addDimension('error_code', code);
    single.addMetric('ConferenceFailures', MetricUnit.Count, 1);
  },
  retry: () => metrics.addMetric('Retries', MetricUnit.Count, 1),
  credentialsRefreshed: () => metrics.addMetric('CredentialRefreshes', MetricUnit.Count, 1),
  upstreamLatency: (ms) => metrics.addMetric('UpstreamLatency', MetricUnit.Milliseconds, ms),
};
