;; Fused optimizer updates for the wasm backend: one pass over memory instead of one pass per tfjs operation.
;; Every operation is a single-precision IEEE operation in the order the reference formulas (src/optim) apply them, so the results
;; are bit for bit those of the unfused path (and of the autograder's float32 reference).
;;
;; The memory is the tfjs wasm backend's own (imported); all pointers are byte offsets of float32 arrays in it, and
;; n is the number of elements. Four elements a step with SIMD, then one at a time for the rest.
;; Compiled by `npm run build:kernels` into optimizers-wasm.ts; MEMORY below becomes shared or not.
(module
  (import "env" "memory" (memory MEMORY))

  ;; SGD.update (src/optim/sgd.ts) without momentum: p' = keep·p − lr·g, keep = 1 − beta.
  (func (export "sgd")
    (param $p i32) (param $g i32) (param $pOut i32) (param $n i32) (param $keep f32) (param $lr f32)
    (local $i i32) (local $end i32) (local $keep4 v128) (local $lr4 v128)
    (local.set $keep4 (f32x4.splat (local.get $keep)))
    (local.set $lr4 (f32x4.splat (local.get $lr)))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $done4 (loop $next4
      (br_if $done4 (i32.ge_u (local.get $i) (local.get $end)))
      (v128.store (i32.add (local.get $pOut) (local.get $i))
        (f32x4.sub
          (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $i))) (local.get $keep4))
          (f32x4.mul (v128.load (i32.add (local.get $g) (local.get $i))) (local.get $lr4))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next4)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (f32.store (i32.add (local.get $pOut) (local.get $i))
        (f32.sub
          (f32.mul (f32.load (i32.add (local.get $p) (local.get $i))) (local.get $keep))
          (f32.mul (f32.load (i32.add (local.get $g) (local.get $i))) (local.get $lr))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $next))))

  ;; SGD.update with momentum: v' = m·v − lr·g, p' = keep·p + v'.
  (func (export "momentum")
    (param $p i32) (param $g i32) (param $v i32) (param $pOut i32) (param $vOut i32) (param $n i32)
    (param $keep f32) (param $lr f32) (param $m f32)
    (local $i i32) (local $end i32) (local $keep4 v128) (local $lr4 v128) (local $m4 v128) (local $v4 v128) (local $v1 f32)
    (local.set $keep4 (f32x4.splat (local.get $keep)))
    (local.set $lr4 (f32x4.splat (local.get $lr)))
    (local.set $m4 (f32x4.splat (local.get $m)))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $done4 (loop $next4
      (br_if $done4 (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $v4
        (f32x4.sub
          (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $i))) (local.get $m4))
          (f32x4.mul (v128.load (i32.add (local.get $g) (local.get $i))) (local.get $lr4))))
      (v128.store (i32.add (local.get $vOut) (local.get $i)) (local.get $v4))
      (v128.store (i32.add (local.get $pOut) (local.get $i))
        (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $i))) (local.get $keep4)) (local.get $v4)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next4)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $v1
        (f32.sub
          (f32.mul (f32.load (i32.add (local.get $v) (local.get $i))) (local.get $m))
          (f32.mul (f32.load (i32.add (local.get $g) (local.get $i))) (local.get $lr))))
      (f32.store (i32.add (local.get $vOut) (local.get $i)) (local.get $v1))
      (f32.store (i32.add (local.get $pOut) (local.get $i))
        (f32.add (f32.mul (f32.load (i32.add (local.get $p) (local.get $i))) (local.get $keep)) (local.get $v1)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $next))))

  ;; RMSProp.update (src/optim/rmsprop.ts): s' = s·beta + (g·g)·(1 − beta), p' = p − (lr / (√s' + eps))·g.
  (func (export "rmsprop")
    (param $p i32) (param $g i32) (param $s i32) (param $pOut i32) (param $sOut i32) (param $n i32)
    (param $beta f32) (param $rest f32) (param $lr f32) (param $eps f32)
    (local $i i32) (local $end i32)
    (local $beta4 v128) (local $rest4 v128) (local $lr4 v128) (local $eps4 v128) (local $g4 v128) (local $s4 v128)
    (local $g1 f32) (local $s1 f32)
    (local.set $beta4 (f32x4.splat (local.get $beta)))
    (local.set $rest4 (f32x4.splat (local.get $rest)))
    (local.set $lr4 (f32x4.splat (local.get $lr)))
    (local.set $eps4 (f32x4.splat (local.get $eps)))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $done4 (loop $next4
      (br_if $done4 (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $g4 (v128.load (i32.add (local.get $g) (local.get $i))))
      (local.set $s4
        (f32x4.add
          (f32x4.mul (v128.load (i32.add (local.get $s) (local.get $i))) (local.get $beta4))
          (f32x4.mul (f32x4.mul (local.get $g4) (local.get $g4)) (local.get $rest4))))
      (v128.store (i32.add (local.get $sOut) (local.get $i)) (local.get $s4))
      (v128.store (i32.add (local.get $pOut) (local.get $i))
        (f32x4.sub
          (v128.load (i32.add (local.get $p) (local.get $i)))
          (f32x4.mul
            (f32x4.div (local.get $lr4) (f32x4.add (f32x4.sqrt (local.get $s4)) (local.get $eps4)))
            (local.get $g4))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next4)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $g1 (f32.load (i32.add (local.get $g) (local.get $i))))
      (local.set $s1
        (f32.add
          (f32.mul (f32.load (i32.add (local.get $s) (local.get $i))) (local.get $beta))
          (f32.mul (f32.mul (local.get $g1) (local.get $g1)) (local.get $rest))))
      (f32.store (i32.add (local.get $sOut) (local.get $i)) (local.get $s1))
      (f32.store (i32.add (local.get $pOut) (local.get $i))
        (f32.sub
          (f32.load (i32.add (local.get $p) (local.get $i)))
          (f32.mul (f32.div (local.get $lr) (f32.add (f32.sqrt (local.get $s1)) (local.get $eps))) (local.get $g1))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $next))))

  ;; Adam.update (src/optim/adam.ts): m' = m·b1 + g·(1 − b1), s' = s·b2 + (g·g)·(1 − b2), m̂ = m'/c1, ŝ = s'/c2,
  ;; p' = p − (lr / (√ŝ + eps))·m̂, with c1 = 1 − b1^t and c2 = 1 − b2^t.
  (func (export "adam")
    (param $p i32) (param $g i32) (param $m i32) (param $s i32)
    (param $pOut i32) (param $mOut i32) (param $sOut i32) (param $n i32)
    (param $b1 f32) (param $rest1 f32) (param $b2 f32) (param $rest2 f32)
    (param $c1 f32) (param $c2 f32) (param $lr f32) (param $eps f32)
    (local $i i32) (local $end i32)
    (local $b14 v128) (local $rest14 v128) (local $b24 v128) (local $rest24 v128)
    (local $c14 v128) (local $c24 v128) (local $lr4 v128) (local $eps4 v128)
    (local $g4 v128) (local $m4 v128) (local $s4 v128)
    (local $g1 f32) (local $m1 f32) (local $s1 f32)
    (local.set $b14 (f32x4.splat (local.get $b1)))
    (local.set $rest14 (f32x4.splat (local.get $rest1)))
    (local.set $b24 (f32x4.splat (local.get $b2)))
    (local.set $rest24 (f32x4.splat (local.get $rest2)))
    (local.set $c14 (f32x4.splat (local.get $c1)))
    (local.set $c24 (f32x4.splat (local.get $c2)))
    (local.set $lr4 (f32x4.splat (local.get $lr)))
    (local.set $eps4 (f32x4.splat (local.get $eps)))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $done4 (loop $next4
      (br_if $done4 (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $g4 (v128.load (i32.add (local.get $g) (local.get $i))))
      (local.set $m4
        (f32x4.add
          (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $i))) (local.get $b14))
          (f32x4.mul (local.get $g4) (local.get $rest14))))
      (local.set $s4
        (f32x4.add
          (f32x4.mul (v128.load (i32.add (local.get $s) (local.get $i))) (local.get $b24))
          (f32x4.mul (f32x4.mul (local.get $g4) (local.get $g4)) (local.get $rest24))))
      (v128.store (i32.add (local.get $mOut) (local.get $i)) (local.get $m4))
      (v128.store (i32.add (local.get $sOut) (local.get $i)) (local.get $s4))
      (v128.store (i32.add (local.get $pOut) (local.get $i))
        (f32x4.sub
          (v128.load (i32.add (local.get $p) (local.get $i)))
          (f32x4.mul
            (f32x4.div
              (local.get $lr4)
              (f32x4.add (f32x4.sqrt (f32x4.div (local.get $s4) (local.get $c24))) (local.get $eps4)))
            (f32x4.div (local.get $m4) (local.get $c14)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next4)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
      (local.set $g1 (f32.load (i32.add (local.get $g) (local.get $i))))
      (local.set $m1
        (f32.add
          (f32.mul (f32.load (i32.add (local.get $m) (local.get $i))) (local.get $b1))
          (f32.mul (local.get $g1) (local.get $rest1))))
      (local.set $s1
        (f32.add
          (f32.mul (f32.load (i32.add (local.get $s) (local.get $i))) (local.get $b2))
          (f32.mul (f32.mul (local.get $g1) (local.get $g1)) (local.get $rest2))))
      (f32.store (i32.add (local.get $mOut) (local.get $i)) (local.get $m1))
      (f32.store (i32.add (local.get $sOut) (local.get $i)) (local.get $s1))
      (f32.store (i32.add (local.get $pOut) (local.get $i))
        (f32.sub
          (f32.load (i32.add (local.get $p) (local.get $i)))
          (f32.mul
            (f32.div (local.get $lr) (f32.add (f32.sqrt (f32.div (local.get $s1) (local.get $c2))) (local.get $eps)))
            (f32.div (local.get $m1) (local.get $c1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $next)))))
