;; Inverted-dropout masks, drawn on the CPU four units at a time: what src/nn/dropout.ts's invertedDropoutMask draws
;; one unit at a time in JavaScript, bit for bit. Draw i of a mask with key k is hash32(hash32(i) ^ k), hash32 being
;; lowbias32 (src/random.ts); unit i is kept when the draw's top 24 bits are below the threshold, ⌈keep·2^24⌉ with keep
;; rounded to float32 (the same test as (draw >>> 8)/2^24 < keep for the integers below 2^24), and is then the scale
;; 1/keep, else 0.
;;
;; The memory is the caller's (imported); `out` is a byte offset in it. It writes n rounded up to a multiple of four.
;; Compiled by `npm run build:kernels` into masks-wasm.ts; MEMORY below becomes shared or not.
(module
  (import "env" "memory" (memory MEMORY))

  ;; lowbias32 of four values: x ^= x >>> 16; x *= 0x7feb352d; x ^= x >>> 15; x *= 0x846ca68b; x ^= x >>> 16.
  (func $hash32 (param $x v128) (result v128)
    (local.set $x (v128.xor (local.get $x) (i32x4.shr_u (local.get $x) (i32.const 16))))
    (local.set $x (i32x4.mul (local.get $x) (v128.const i32x4 0x7feb352d 0x7feb352d 0x7feb352d 0x7feb352d)))
    (local.set $x (v128.xor (local.get $x) (i32x4.shr_u (local.get $x) (i32.const 15))))
    (local.set $x (i32x4.mul (local.get $x) (v128.const i32x4 0x846ca68b 0x846ca68b 0x846ca68b 0x846ca68b)))
    (v128.xor (local.get $x) (i32x4.shr_u (local.get $x) (i32.const 16))))

  ;; out[i] = scale where hash32(hash32(i) ^ key) >>> 8 < threshold, else 0, for i from 0 to n (rounded up to 4).
  (func (export "mask") (param $out i32) (param $n i32) (param $key i32) (param $threshold i32) (param $scale f32)
    (local $index v128) (local $key4 v128) (local $threshold4 v128) (local $scale4 v128) (local $end i32)
    (local.set $index (v128.const i32x4 0 1 2 3))
    (local.set $key4 (i32x4.splat (local.get $key)))
    (local.set $threshold4 (i32x4.splat (local.get $threshold)))
    (local.set $scale4 (f32x4.splat (local.get $scale)))
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $units
        (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
        ;; The lanes that keep their unit are all ones, so the and leaves the scale's bits there and +0 elsewhere.
        (v128.store (local.get $out)
          (v128.and
            (i32x4.lt_u
              (i32x4.shr_u (call $hash32 (v128.xor (call $hash32 (local.get $index)) (local.get $key4))) (i32.const 8))
              (local.get $threshold4))
            (local.get $scale4)))
        (local.set $index (i32x4.add (local.get $index) (v128.const i32x4 4 4 4 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (br $units)))))
