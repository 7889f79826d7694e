/**
 * Takes one snapshot per scrape and shares it among all metrics' collect callbacks, so the
 * series of one scrape are consistent and counter history advances once per scrape. A scrape is
 * over when a metric asks for a view a second time; no timers or clocks are involved.
 */
export class OncePerScrape<V> {
  private current: { view: V } | undefined;
  private readonly readers = new Set<string>();

  constructor(private readonly take: () => V) {}

  get(metric: string): V {
    if (this.current === undefined || this.readers.has(metric)) {
      this.readers.clear();
      this.current = { view: this.take() };
    }
    this.readers.add(metric);
    return this.current.view;
  }
}
