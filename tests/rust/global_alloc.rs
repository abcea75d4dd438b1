// SPDX-License-Identifier: BSD-2-Clause
//! A Rust program whose global allocator is smp-heap (smpheap_rust.c):
//! every Box, Vec, String and HashMap below, and the standard library's own
//! allocations, come from kmalloc_aligned_try / krealloc_aligned /
//! kfree_sized. Vectors of 256-byte-aligned elements grow by realloc, which
//! must keep their alignment (checked at every push, on 5 threads); 4 KiB
//! aligned boxes. Then waves of more threads at once than there are hart
//! ids: the ids go back at thread exit, and the threads that find none use
//! the locked heap; their blocks are freed on other threads. Then the
//! heap's validator. Exits non-zero on any failure.

use std::alloc::{GlobalAlloc, Layout};
use std::collections::HashMap;

extern "C" {
    fn smpheap_rust_alloc(size: usize, align: usize) -> *mut u8;
    fn smpheap_rust_realloc(p: *mut u8, size: usize, align: usize) -> *mut u8;
    fn smpheap_rust_free(p: *mut u8, size: usize);
    fn smpheap_rust_validate() -> usize;
    fn smpheap_rust_max_harts() -> usize;
    fn smpheap_rust_threads_without_id() -> usize;
}

struct SmpHeap;

unsafe impl GlobalAlloc for SmpHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        smpheap_rust_alloc(layout.size(), layout.align())
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        smpheap_rust_free(p, layout.size())
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        smpheap_rust_realloc(p, new_size, layout.align())
    }
}

#[global_allocator]
static HEAP: SmpHeap = SmpHeap;

#[repr(align(256))]
#[derive(Clone, Copy)]
struct Line([u8; 256]);

#[repr(align(4096))]
struct Page([u8; 4096]);

/// Grows a Vec<Line> by pushes; returns how many of its reallocs kept the
/// block in place.
fn grow_aligned(seed: u8) -> usize {
    let mut v: Vec<Line> = Vec::new();
    let mut in_place = 0;
    for i in 0..3000usize {
        let (before, cap) = (v.as_ptr(), v.capacity());
        v.push(Line([seed.wrapping_add(i as u8); 256]));
        if cap != 0 && v.capacity() != cap && v.as_ptr() == before {
            in_place += 1;
        }
        assert_eq!(v.as_ptr() as usize % 256, 0, "a realloc lost the 256-byte alignment");
    }
    for (i, l) in v.iter().enumerate() {
        assert!(l.0.iter().all(|&b| b == seed.wrapping_add(i as u8)), "contents lost");
    }
    v.truncate(10);
    v.shrink_to_fit();
    assert_eq!(v.as_ptr() as usize % 256, 0, "a shrink lost the 256-byte alignment");
    in_place
}

/// WAVES times, wave_size() threads alive at once, more than there are hart
/// ids: each allocates before a barrier (so all hold their ids, or none, at
/// once), and hands its blocks to the main thread, which frees them.
/// Returns how many threads found no id; exact if every exit gives its id
/// back (the main thread holds one throughout).
const WAVES: usize = 3;
fn wave_size() -> usize {
    unsafe { smpheap_rust_max_harts() + 32 }
}
fn waves_past_the_ids() -> usize {
    let wave = wave_size();
    for w in 0..WAVES {
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(wave));
        let threads: Vec<_> = (0..wave)
            .map(|t| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let mut v: Vec<Line> = Vec::new();
                    for i in 0..20usize {
                        v.push(Line([(t + i) as u8; 256]));
                        assert_eq!(v.as_ptr() as usize % 256, 0, "a realloc lost the alignment");
                    }
                    let s = format!("wave {} thread {}", w, t);
                    barrier.wait();
                    (v, s, Box::new(Page([t as u8; 4096])))
                })
            })
            .collect();
        for (t, th) in threads.into_iter().enumerate() {
            let (v, s, page) = th.join().expect("a wave thread failed");
            assert!(v.iter().enumerate().all(|(i, l)| l.0[0] == (t + i) as u8));
            assert_eq!(s, format!("wave {} thread {}", w, t));
            assert_eq!(&*page as *const Page as usize % 4096, 0);
        }
    }
    let without = unsafe { smpheap_rust_threads_without_id() };
    let expected = WAVES * (wave - unsafe { smpheap_rust_max_harts() - 1 });
    assert_eq!(without, expected, "threads without a hart id: ids not given back at exit?");
    without
}

/// Requests no heap can serve (past the heap's largest block, 64 GiB) are
/// failures GlobalAlloc reports with a null pointer, so that try_reserve
/// returns an error instead of the process ending: through alloc (an empty
/// Vec), realloc (a full one, plain and 256-aligned) and alloc_zeroed.
fn too_big_is_an_error() {
    let huge = 1usize << 40;
    let mut empty: Vec<u8> = Vec::new();
    assert!(empty.try_reserve(huge).is_err(), "alloc of 1 TiB did not fail");
    let mut full: Vec<u8> = vec![5; 100];
    assert!(full.try_reserve(huge).is_err(), "realloc to 1 TiB did not fail");
    assert!(full.iter().all(|&b| b == 5), "a failed realloc changed the block");
    let mut lines: Vec<Line> = vec![Line([6; 256]); 4];
    assert!(lines.try_reserve(huge / 256).is_err(), "aligned realloc to 1 TiB did not fail");
    assert!(lines.iter().all(|l| l.0[0] == 6));
    let layout = Layout::from_size_align(huge, 4096).unwrap();
    // black_box: an allocation nothing uses may be elided as a success.
    let p = std::hint::black_box(unsafe { std::alloc::alloc_zeroed(layout) });
    assert!(p.is_null(), "alloc_zeroed of 1 TiB did not fail");
}

fn main() {
    too_big_is_an_error();
    let mut in_place = grow_aligned(1);
    let pages: Vec<Box<Page>> = (0..64).map(|_| Box::new(Page([7; 4096]))).collect();
    assert!(pages.iter().all(|p| (&**p as *const Page as usize) % 4096 == 0));
    let workers: Vec<_> = (0..4u8)
        .map(|t| {
            std::thread::spawn(move || {
                let mut m: HashMap<u64, String> = HashMap::new();
                for i in 0..20000u64 {
                    m.insert(i, format!("{}-{}", t, i));
                    if i % 3 == 0 {
                        m.remove(&(i / 2));
                    }
                }
                let s: String = (0..10000).map(|_| "ab").collect();
                assert_eq!(s.len(), 20000);
                grow_aligned(t + 10)
            })
        })
        .collect();
    for w in workers {
        in_place += w.join().expect("a worker failed");
    }
    assert!(pages.iter().all(|p| p.0.iter().all(|&b| b == 7)));
    drop(pages);
    let without_id = waves_past_the_ids();
    let errors = unsafe { smpheap_rust_validate() };
    assert_eq!(errors, 0, "the heap's validator found errors");
    assert!(in_place > 0, "no aligned realloc grew in place");
    println!(
        "rust_global_alloc: PASS threads={} threads_on_the_locked_heap={} aligned_reallocs_in_place={} validate_errors={}",
        5 + WAVES * wave_size(),
        without_id,
        in_place,
        errors
    );
}
