/**
 * Prometheus text exposition (format 0.0.4) of the few numbers an operator needs: requests
 * by route and status, a latency histogram per route, the engine queue and engine time.
 * Written out by hand: it is a dozen lines of text, not worth a dependency.
 */
import type { EngineQueue } from './engine-queue';

/** Upper bounds of the latency buckets, in seconds. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

interface Histogram {
  counts: number[]; // one per bucket, not cumulative
  sum: number;
  count: number;
}

export class Metrics {
  private requests = new Map<string, number>(); // key: route \0 method \0 status
  private latency = new Map<string, Histogram>(); // key: route

  record(route: string, method: string, status: number, seconds: number): void {
    const key = `${route}\0${method}\0${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let h = this.latency.get(route);
    if (!h) this.latency.set(route, (h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    const i = BUCKETS.findIndex((b) => seconds <= b);
    if (i >= 0) h.counts[i]++;
    h.sum += seconds;
    h.count++;
  }

  render(queue: EngineQueue): string {
    const out: string[] = [];
    out.push('# HELP caffe_lrp_http_requests_total HTTP requests by route, method and status.');
    out.push('# TYPE caffe_lrp_http_requests_total counter');
    for (const [key, n] of [...this.requests].sort()) {
      const [route, method, status] = key.split('\0');
      out.push(`caffe_lrp_http_requests_total{route="${esc(route)}",method="${method}",status="${status}"} ${n}`);
    }
    out.push('# HELP caffe_lrp_http_request_duration_seconds Time from request to response.');
    out.push('# TYPE caffe_lrp_http_request_duration_seconds histogram');
    for (const [route, h] of [...this.latency].sort()) {
      let cumulative = 0;
      BUCKETS.forEach((b, i) => {
        cumulative += h.counts[i];
        out.push(`caffe_lrp_http_request_duration_seconds_bucket{route="${esc(route)}",le="${b}"} ${cumulative}`);
      });
      out.push(`caffe_lrp_http_request_duration_seconds_bucket{route="${esc(route)}",le="+Inf"} ${h.count}`);
      out.push(`caffe_lrp_http_request_duration_seconds_sum{route="${esc(route)}"} ${h.sum}`);
      out.push(`caffe_lrp_http_request_duration_seconds_count{route="${esc(route)}"} ${h.count}`);
    }
    const gauge = (name: string, help: string, type: string, value: number) =>
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
    gauge('caffe_lrp_queue_depth', 'Explanations waiting for the engine.', 'gauge', queue.depth);
    gauge('caffe_lrp_queue_capacity', 'Explanations that may wait before requests are refused with 503.', 'gauge', queue.capacity);
    gauge('caffe_lrp_engine_busy', '1 while the engine computes an explanation.', 'gauge', queue.running ? 1 : 0);
    gauge('caffe_lrp_engine_seconds_total', 'Time the engine spent on explanations.', 'counter', queue.engineSeconds);
    gauge('caffe_lrp_engine_tasks_total', 'Explanations the engine ran.', 'counter', queue.tasksRun);
    gauge('caffe_lrp_queue_rejected_total', 'Requests refused because the queue was full.', 'counter', queue.rejected);
    gauge('caffe_lrp_queue_timeouts_total', 'Requests that ran out of time.', 'counter', queue.timedOut);
    return out.join('\n') + '\n';
  }
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
