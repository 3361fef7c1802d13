/**
 * A proxy that behaves exactly like `target` except for the `overrides`.
 * Getters are read and methods are called on the target itself, so its
 * internal state is untouched; members added upstream later pass through as
 * they are, which a hand-written wrapper class would silently drop.
 */
export function delegateExcept<T extends object>(
  target: T,
  overrides: Partial<T>,
): T {
  return new Proxy(target, {
    get(t, prop) {
      if (Object.prototype.hasOwnProperty.call(overrides, prop)) {
        return (overrides as Record<PropertyKey, unknown>)[prop];
      }
      const value = Reflect.get(t, prop, t);
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });
}
