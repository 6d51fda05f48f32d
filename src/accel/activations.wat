;; The activations of the 2e network and their derivatives, for the wasm backend: one SIMD pass over memory for what
;; tfjs does in 3 to 10 kernels (celu forward: clamp, divide, exp, subtract, multiply, relu, add), each a pass of its
;; own. The formulas are those of src/nn/activations.ts in the same order; exp is computed here (tfjs's comes from the C
;; library), so results agree with the tfjs operations to a few units in the last place, not bit for bit.
;;
;; The memory is the tfjs wasm backend's own (imported); pointers are byte offsets of float32 arrays in it. Four
;; elements a step with SIMD; the rest (of the n elements, or of a row in `grad`) one at a time, each in lane 0 of a
;; vector, through the same functions.
;; Compiled by `npm run build:kernels` into activations-wasm.ts; MEMORY below becomes shared or not.
(module
  (import "env" "memory" (memory MEMORY))

  ;; f(u, a) and f'(u, a) for four elements, a being the activation's parameter (celu's alpha, swish's beta) in
  ;; every lane. The exported functions take the activation's number: its index in this table.
  (type $elementwise (func (param v128 v128) (result v128)))
  (table 5 funcref)
  (elem (i32.const 0) $celu $swish $reluPrime $celuPrime $swishPrime)

  ;; exp(x), within one unit in the last place (a test checks it from −104 to 89): exp(x) = 2^n·exp(r), n the
  ;; integer nearest x·log2(e) and r = x − n·ln 2, |r| <= ln 2 / 2 (ln 2 in two parts, so that n times the first is
  ;; exact); exp(r) by Cephes' expf polynomial; 2^n made in two halves, so that a result that overflows or falls to
  ;; the subnormals does so in one rounding. x is clamped to [−104, 89] first, outside which exp is 0 or infinity in
  ;; float32; NaN stays NaN.
  (func $exp (param $x v128) (result v128)
    (local $t v128) (local $n v128) (local $r v128) (local $k v128) (local $half v128)
    ;; pmin and pmax keep x where x is NaN
    (local.set $x (f32x4.pmax (f32x4.pmin (local.get $x) (v128.const f32x4 89 89 89 89))
      (v128.const f32x4 -104 -104 -104 -104)))
    ;; x·log2(e) + 1.5·2^23 rounds x·log2(e) to the integer n, which is then t's low bits: k = n as an integer
    (local.set $t (f32x4.add
      (f32x4.mul (local.get $x) (v128.const f32x4 1.44269504088896341 1.44269504088896341 1.44269504088896341 1.44269504088896341))
      (v128.const f32x4 12582912 12582912 12582912 12582912)))
    (local.set $n (f32x4.sub (local.get $t) (v128.const f32x4 12582912 12582912 12582912 12582912)))
    (local.set $k (i32x4.sub (local.get $t) (v128.const i32x4 0x4b400000 0x4b400000 0x4b400000 0x4b400000)))
    (local.set $r
      (f32x4.sub
        (f32x4.sub (local.get $x) (f32x4.mul (local.get $n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375)))
        (f32x4.mul (local.get $n) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
    (local.set $half (i32x4.shr_s (local.get $k) (i32.const 1)))
    (f32x4.mul
      (f32x4.mul
        ;; 1 + r + r²·(((((c6·r + c5)·r + c4)·r + c3)·r + c2)·r + 1/2)
        (f32x4.add
          (f32x4.add
            (f32x4.mul
              (f32x4.add
                (f32x4.mul
                  (f32x4.add
                    (f32x4.mul
                      (f32x4.add
                        (f32x4.mul
                          (f32x4.add
                            (f32x4.mul
                              (f32x4.add
                                (f32x4.mul (local.get $r) (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4))
                                (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3))
                              (local.get $r))
                            (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3))
                          (local.get $r))
                        (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2))
                      (local.get $r))
                    (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1))
                  (local.get $r))
                (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1))
              (f32x4.mul (local.get $r) (local.get $r)))
            (local.get $r))
          (v128.const f32x4 1 1 1 1))
        ;; 2^half, then 2^(k − half): exponent fields of 127 + each
        (i32x4.shl (i32x4.add (local.get $half) (v128.const i32x4 127 127 127 127)) (i32.const 23)))
      (i32x4.shl (i32x4.add (i32x4.sub (local.get $k) (local.get $half)) (v128.const i32x4 127 127 127 127)) (i32.const 23))))

  ;; 1 / (1 + exp(−x))
  (func $sigmoid (param $x v128) (result v128)
    (f32x4.div (v128.const f32x4 1 1 1 1)
      (f32x4.add (v128.const f32x4 1 1 1 1) (call $exp (f32x4.neg (local.get $x))))))

  ;; celu.f (src/nn/activations.ts): max(u, 0) + a·(exp(min(u, 0) / a) − 1)
  (func $celu (type $elementwise) (param $u v128) (param $a v128) (result v128)
    (f32x4.add
      (f32x4.pmax (local.get $u) (v128.const f32x4 0 0 0 0))
      (f32x4.mul (local.get $a)
        (f32x4.sub
          (call $exp (f32x4.div (f32x4.pmin (local.get $u) (v128.const f32x4 0 0 0 0)) (local.get $a)))
          (v128.const f32x4 1 1 1 1)))))

  ;; swish.f: u·sigmoid(a·u)
  (func $swish (type $elementwise) (param $u v128) (param $a v128) (result v128)
    (f32x4.mul (local.get $u) (call $sigmoid (f32x4.mul (local.get $a) (local.get $u)))))

  ;; relu.dfdx: 1 where u > 0, else 0 (0 at 0, as tf.step(u, 0); 0 at NaN too, where tf.step gives NaN)
  (func $reluPrime (type $elementwise) (param $u v128) (param $a v128) (result v128)
    (v128.and (f32x4.gt (local.get $u) (v128.const f32x4 0 0 0 0)) (v128.const f32x4 1 1 1 1)))

  ;; celu.dfdx: exp(min(u, 0) / a)
  (func $celuPrime (type $elementwise) (param $u v128) (param $a v128) (result v128)
    (call $exp (f32x4.div (f32x4.pmin (local.get $u) (v128.const f32x4 0 0 0 0)) (local.get $a))))

  ;; swish.dfdx: s + bu·(s·sigmoid(−bu)), s = sigmoid(bu), bu = a·u
  (func $swishPrime (type $elementwise) (param $u v128) (param $a v128) (result v128)
    (local $bu v128) (local $s v128)
    (local.set $bu (f32x4.mul (local.get $a) (local.get $u)))
    (local.set $s (call $sigmoid (local.get $bu)))
    (f32x4.add (local.get $s)
      (f32x4.mul (local.get $bu) (f32x4.mul (local.get $s) (call $sigmoid (f32x4.neg (local.get $bu)))))))

  ;; h = f(u) for n elements; f is the table's entry `activation`.
  (func (export "forward")
    (param $activation i32) (param $u i32) (param $h i32) (param $n i32) (param $a f32)
    (local $i i32) (local $end i32) (local $a4 v128)
    (local.set $a4 (f32x4.splat (local.get $a)))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $done4 (loop $next4
      (br_if $done4 (i32.ge_u (local.get $i) (local.get $end)))
      (v128.store (i32.add (local.get $h) (local.get $i))
        (call_indirect (type $elementwise)
          (v128.load (i32.add (local.get $u) (local.get $i))) (local.get $a4) (local.get $activation)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next4)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (f32.store (i32.add (local.get $h) (local.get $i))
        (f32x4.extract_lane 0
          (call_indirect (type $elementwise)
            (f32x4.splat (f32.load (i32.add (local.get $u) (local.get $i)))) (local.get $a4) (local.get $activation))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $next))))

  ;; For a batch of `rows` rows of `columns` units: du = dh·f'(u) and db = du summed over the rows, in row order (the
  ;; bias gradient). f' is the table's entry `derivative`.
  (func (export "grad")
    (param $derivative i32) (param $dh i32) (param $u i32)
    (param $du i32) (param $db i32) (param $rows i32) (param $columns i32) (param $a f32)
    (local $row i32) (local $i i32) (local $rowEnd i32) (local $end4 i32) (local $j i32) (local $a4 v128) (local $d v128) (local $g v128)
    (local.set $a4 (f32x4.splat (local.get $a)))
    (memory.fill (local.get $db) (i32.const 0) (i32.shl (local.get $columns) (i32.const 2)))
    (block $rowsDone (loop $nextRow
      (br_if $rowsDone (i32.ge_u (local.get $row) (local.get $rows)))
      ;; i: this row's first byte; j: the column's byte offset, into db
      (local.set $i (i32.shl (i32.mul (local.get $row) (local.get $columns)) (i32.const 2)))
      (local.set $rowEnd (i32.add (local.get $i) (i32.shl (local.get $columns) (i32.const 2))))
      (local.set $end4 (i32.add (local.get $i) (i32.shl (i32.and (local.get $columns) (i32.const -4)) (i32.const 2))))
      (local.set $j (i32.const 0))
      (block $done4 (loop $next4
        (br_if $done4 (i32.ge_u (local.get $i) (local.get $end4)))
        (local.set $d (v128.load (i32.add (local.get $dh) (local.get $i))))
        (local.set $g (f32x4.mul (local.get $d)
          (call_indirect (type $elementwise)
            (v128.load (i32.add (local.get $u) (local.get $i))) (local.get $a4) (local.get $derivative))))
        (v128.store (i32.add (local.get $du) (local.get $i)) (local.get $g))
        (v128.store (i32.add (local.get $db) (local.get $j))
          (f32x4.add (v128.load (i32.add (local.get $db) (local.get $j))) (local.get $g)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $next4)))
      (block $done (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $rowEnd)))
        (local.set $d (f32x4.splat (f32.load (i32.add (local.get $dh) (local.get $i)))))
        (local.set $g (f32x4.mul (local.get $d)
          (call_indirect (type $elementwise)
            (f32x4.splat (f32.load (i32.add (local.get $u) (local.get $i)))) (local.get $a4) (local.get $derivative))))
        (f32.store (i32.add (local.get $du) (local.get $i)) (f32x4.extract_lane 0 (local.get $g)))
        (f32.store (i32.add (local.get $db) (local.get $j))
          (f32.add (f32.load (i32.add (local.get $db) (local.get $j))) (f32x4.extract_lane 0 (local.get $g))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $next)))
      (local.set $row (i32.add (local.get $row) (i32.const 1)))
      (br $nextRow)))))
