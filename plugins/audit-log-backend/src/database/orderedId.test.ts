import { orderedId } from './orderedId';

describe('orderedId', () => {
  it('is a UUID that sorts in creation order, also within one millisecond', () => {
    const ids = Array.from({ length: 10000 }, () =>
      orderedId(1_700_000_000_000),
    );
    for (const id of ids) {
      expect(id).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
    }
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('never goes backwards when the clock does', () => {
    const a = orderedId(2_000_000_000_000);
    const b = orderedId(1_999_999_999_000);
    expect(b > a).toBe(true);
  });
});
