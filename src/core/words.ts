/** `n` and the noun, plural unless n is 1: count(1, 'epoch') is '1 epoch', count(10, 'epoch') '10 epochs'. */
export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
