/** Names a side output. Two tags with the same id are the same output. */
export class OutputTag<T> {
  /** Phantom field so that OutputTag<A> and OutputTag<B> are distinct types. */
  declare readonly __type?: T;
  constructor(readonly id: string) {
    if (id.length === 0) throw new TypeError('OutputTag id must be a non-empty string');
  }
}
