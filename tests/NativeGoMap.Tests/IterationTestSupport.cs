using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using NativeGoMap.Tests.CoreSupport;
using Xunit;

namespace NativeGoMap.Tests
{
    /// <summary>A 200-byte key: stored indirectly (over 128 bytes). Its fill bytes derive from its id, so a torn or stale key shows.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct BigKey
    {
        public const int FillLength = 196;

        public int Id;
        public fixed byte Fill[FillLength];

        public static BigKey Of(int id)
        {
            BigKey k = default;
            k.Id = id;
            for (int i = 0; i < FillLength; i++)
            {
                k.Fill[i] = FillByte(id, i);
            }

            return k;
        }

        /// <summary>A key whose every byte is NativeHeap's poison byte: what a key read from freed memory looks like in poison mode.</summary>
        public static BigKey Poison()
        {
            BigKey k = default;
            new Span<byte>(&k, sizeof(BigKey)).Fill(NativeHeap.PoisonByte);
            return k;
        }

        public static int PoisonId => Poison().Id;

        public readonly bool IsWellFormed
        {
            get
            {
                if (Id == PoisonId)
                {
                    fixed (BigKey* self = &this)
                    {
                        return new ReadOnlySpan<byte>(self, sizeof(BigKey)).IndexOfAnyExcept(NativeHeap.PoisonByte) < 0;
                    }
                }

                for (int i = 0; i < FillLength; i++)
                {
                    if (Fill[i] != FillByte(Id, i))
                    {
                        return false;
                    }
                }

                return true;
            }
        }

        private static byte FillByte(int id, int i) => (byte)((id * 31) + (i * 7) + 1);
    }

    /// <summary>A 200-byte value: stored indirectly. Its fill bytes derive from its number.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct BigValue
    {
        public const int FillLength = 192;

        public long V;
        public fixed byte Fill[FillLength];

        public static BigValue Of(long v)
        {
            BigValue x = default;
            x.V = v;
            for (int i = 0; i < FillLength; i++)
            {
                x.Fill[i] = (byte)((v * 13) + i);
            }

            return x;
        }

        public readonly bool IsWellFormed
        {
            get
            {
                for (int i = 0; i < FillLength; i++)
                {
                    if (Fill[i] != (byte)((V * 13) + i))
                    {
                        return false;
                    }
                }

                return true;
            }
        }
    }

    /// <summary>Byte equality for <see cref="BigKey"/> without boxing.</summary>
    public sealed unsafe class BigKeyComparer : IEqualityComparer<BigKey>
    {
        public static readonly BigKeyComparer Instance = new BigKeyComparer();

        public bool Equals(BigKey x, BigKey y) =>
            new ReadOnlySpan<byte>(&x, sizeof(BigKey)).SequenceEqual(new ReadOnlySpan<byte>(&y, sizeof(BigKey)));

        public int GetHashCode(BigKey obj) => obj.Id;
    }

    /// <summary>
    /// Equality of an inner comparer with a chosen hash code: a constant hash puts every key in
    /// the same bucket, so chains of overflow buckets form.
    /// </summary>
    public sealed class CollidingComparer<T> : IEqualityComparer<T>
    {
        private readonly IEqualityComparer<T> _inner;
        private readonly Func<T, int> _hash;

        public CollidingComparer(IEqualityComparer<T> inner, Func<T, int> hash)
        {
            _inner = inner;
            _hash = hash;
        }

        /// <summary>Called at every hash; lets a test act in the middle of a map operation.</summary>
        public Action? OnHash { get; set; }

        /// <summary>Called at every key comparison; lets a test act in the middle of a map operation.</summary>
        public Action? OnEquals { get; set; }

        public bool Equals(T? x, T? y)
        {
            OnEquals?.Invoke();
            return _inner.Equals(x!, y!);
        }

        public int GetHashCode(T obj)
        {
            OnHash?.Invoke();
            return _hash(obj);
        }
    }

    /// <summary>
    /// A Strict read of a 200-byte indirect value held in the middle of its probe on another
    /// thread, and a Remove of another entry meanwhile: the value block the remove drops must
    /// wait (deferred bytes), and the read then ends with Go's read-and-write message.
    /// <paramref name="whileInside"/> runs once the read is held, before the remove. Shared by
    /// the Strict deferral tests (ConcurrencyModeTests, ReaderSlotReuseTests).
    /// </summary>
    public static class HeldStrictRead
    {
        public static void AssertARemoveDefersItsValueBlock(Action? whileInside = null)
        {
            var comparer = new CollidingComparer<int>(EqualityComparer<int>.Default, k => k);
            var map = new GoMap<int, Value200>(new GoMapOptions { ConcurrencyChecks = ConcurrencyChecks.Strict }, comparer);
            for (int k = 0; k < 50; k++)
            {
                map[k] = Value200.Of(k);
            }

            Assert.Equal(0, map.GetStats().DeferredBytes);
            using var pause = Pause.AtNextEquals(comparer);
            OffThread reader = OffThread.Start(() => map.ContainsKey(7));
            pause.WaitUntilInside();
            whileInside?.Invoke();

            Assert.True(map.Remove(8));
            Assert.True(map.GetStats().DeferredBytes > 0, "the dropped value block was freed while a Strict read was in progress");
            pause.Resume();
            var e = Assert.IsType<ConcurrentMapAccessException>(reader.Join());
            Assert.Equal("concurrent map read and map write", e.Message);
            map.Dispose();
        }
    }

    /// <summary>Holds the next key comparison of a comparer until resumed: a read stopped in the middle of its probe.</summary>
    public sealed class Pause : IDisposable
    {
        private readonly ManualResetEventSlim _inside = new();
        private readonly ManualResetEventSlim _resume = new();

        public static Pause AtNextEquals<T>(CollidingComparer<T> comparer)
        {
            var pause = new Pause();
            comparer.OnEquals = () =>
            {
                comparer.OnEquals = null;
                pause._inside.Set();
                pause._resume.Wait();
            };
            return pause;
        }

        public void WaitUntilInside() => _inside.Wait();

        public void Resume() => _resume.Set();

        public void Dispose()
        {
            _inside.Dispose();
            _resume.Dispose();
        }
    }

    /// <summary>Makes keys of one type from int ids and reads the ids back.</summary>
    public abstract class KeyCodec<TKey>
        where TKey : unmanaged
    {
        public abstract TKey Make(int id);

        public abstract int IdOf(TKey key);

        public abstract bool IsWellFormed(TKey key);
    }

    public sealed class IntKeys : KeyCodec<int>
    {
        public static readonly IntKeys Instance = new IntKeys();

        public override int Make(int id) => id;

        public override int IdOf(int key) => key;

        public override bool IsWellFormed(int key) => true;
    }

    public sealed class BigKeys : KeyCodec<BigKey>
    {
        public static readonly BigKeys Instance = new BigKeys();

        public override BigKey Make(int id) => id == BigKey.PoisonId ? BigKey.Poison() : BigKey.Of(id);

        public override int IdOf(BigKey key) => key.Id;

        public override bool IsWellFormed(BigKey key) => key.IsWellFormed;
    }

    /// <summary>Makes values of one type from longs and reads them back.</summary>
    public abstract class ValueCodec<TValue>
        where TValue : unmanaged
    {
        public abstract TValue Make(long v);

        public abstract long Read(TValue value);

        public abstract bool IsWellFormed(TValue value);
    }

    public sealed class LongValues : ValueCodec<long>
    {
        public static readonly LongValues Instance = new LongValues();

        public override long Make(long v) => v;

        public override long Read(long value) => value;

        public override bool IsWellFormed(long value) => true;
    }

    public sealed class BigValues : ValueCodec<BigValue>
    {
        public static readonly BigValues Instance = new BigValues();

        public override BigValue Make(long v) => BigValue.Of(v);

        public override long Read(BigValue value) => value.V;

        public override bool IsWellFormed(BigValue value) => value.IsWellFormed;
    }

    /// <summary>Poison mode for the current thread: freed native memory is overwritten and quarantined until disposal.</summary>
    public sealed class PoisonScope : IDisposable
    {
        public PoisonScope() => NativeHeap.PoisonFreedMemory = true;

        public void Dispose()
        {
            NativeHeap.PoisonFreedMemory = false;
            NativeHeap.ReleaseQuarantine();
        }
    }

    /// <summary>Records the keys an enumeration yields and fails on the first key yielded twice.</summary>
    public sealed class YieldLog
    {
        private readonly HashSet<int> _seen = new HashSet<int>();

        public int Count => _seen.Count;

        public bool Contains(int key) => _seen.Contains(key);

        public void Saw(int key)
        {
            Assert.True(_seen.Add(key), $"key {key} yielded twice");
        }

        public void AssertYieldedAll(IEnumerable<int> keys)
        {
            foreach (int k in keys)
            {
                Assert.True(_seen.Contains(k), $"key {k} was present throughout but never yielded");
            }
        }
    }

    /// <summary>
    /// What Go's iteration rules say of one live walk, by key id, for the randomized drivers that
    /// keep several walks beside a model (EnumerationAcrossResizesTests,
    /// ShrinkAndSameSizeGrowthTests): the keys present since it began, each of which it must yield
    /// before it ends, and the keys it yielded and that were not removed since, none of which it
    /// may yield again. A key removed and set again is a new entry, which the walk may yield.
    /// </summary>
    public class WalkLedger
    {
        public WalkLedger(IEnumerable<int> present)
        {
            Present = new HashSet<int>(present);
        }

        /// <summary>Present since the walk began.</summary>
        public HashSet<int> Present { get; }

        /// <summary>Yielded, and not removed since.</summary>
        public HashSet<int> Yielded { get; } = new HashSet<int>();

        /// <summary>Records a yield; false when the walk yielded the key before and it was not removed since.</summary>
        public bool FirstYield(int id) => Yielded.Add(id);

        /// <summary>The key was removed: no longer owed, and a later yield of it is a new entry's.</summary>
        public void Removed(int id)
        {
            Present.Remove(id);
            Yielded.Remove(id);
        }

        /// <summary>The map was cleared: every key removed.</summary>
        public void Cleared()
        {
            Present.Clear();
            Yielded.Clear();
        }

        /// <summary>The keys present since the walk began that it has not yielded.</summary>
        public List<int> Missed() => new List<int>(Present.Where(k => !Yielded.Contains(k)));
    }

    public static class IterationHelpers
    {
        /// <summary>
        /// Bytes <paramref name="body"/> allocates on this thread, measured after warm-up runs: the
        /// fewest of up to five measured runs (the first that allocates nothing ends them). The
        /// runtime allocates on the calling thread now and then, once: when a method it calls
        /// tiers up (CI saw 6,176 bytes in 100 TryGetValues calls spanning the 30th call) or
        /// loads a type for the new code. An allocation of the body's own recurs in every run.
        /// </summary>
        public static long AllocatedBy(Func<long> body)
        {
            long check = 0;
            for (int i = 0; i < 5; i++)
            {
                check += body();
            }

            long fewest = long.MaxValue;
            for (int run = 0; run < 5 && fewest != 0; run++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                check += body();
                fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
            }

            Assert.NotEqual(0, check);
            return fewest;
        }

        /// <summary>
        /// <see cref="AllocatedBy"/> of 100 calls of <paramref name="call"/> in a row (the batch
        /// APIs' allocation tests): <paramref name="calls"/> counts every call made, warm-up runs
        /// included, and <paramref name="sum"/> adds up their results.
        /// </summary>
        public static long AllocatedByHundredCalls(Func<int> call, out long calls, out long sum)
        {
            long n = 0, total = 0;
            long allocated = AllocatedBy(() =>
            {
                for (int i = 0; i < 100; i++)
                {
                    total += call();
                    n++;
                }

                return total;
            });
            calls = n;
            sum = total;
            return allocated;
        }

        /// <summary>Fills a map with keys 0..n-1, value = key * 10; with <paramref name="goDoubling"/>, its growths double at every size as Go's (DoubleLikeGoForTest).</summary>
        public static GoMap<int, long> IntMap(int n, ulong? seed = null, long capacityHint = 0, ConcurrencyChecks checks = ConcurrencyChecks.Go, bool goDoubling = false)
        {
            var map = new GoMap<int, long>(new GoMapOptions { Seed = seed, CapacityHint = capacityHint, ConcurrencyChecks = checks });
            if (goDoubling)
            {
                map.DoubleLikeGoForTest();
            }

            for (int i = 0; i < n; i++)
            {
                map.Add(i, i * 10L);
            }

            return map;
        }

        /// <summary>Runs an enumerator to its end and returns the keys in order.</summary>
        public static List<TKey> DrainKeys<TKey, TValue>(ref GoMap<TKey, TValue>.Enumerator e)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            var keys = new List<TKey>();
            while (e.MoveNext())
            {
                keys.Add(e.Current.Key);
            }

            return keys;
        }

        /// <summary>The keys of one whole enumeration, in order.</summary>
        public static List<TKey> OrderOf<TKey, TValue>(GoMap<TKey, TValue> map)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            var keys = new List<TKey>();
            foreach (KeyValuePair<TKey, TValue> kv in map)
            {
                keys.Add(kv.Key);
            }

            return keys;
        }

        /// <summary>Inserts fresh keys from <paramref name="next"/> on until a growth is in progress; returns the next unused key.</summary>
        public static int InsertUntilGrowing(GoMap<int, long> map, int next)
        {
            while (!map.GetStats().IsGrowing)
            {
                map.Add(next, next * 10L);
                next++;
            }

            return next;
        }

        /// <summary>Keys from here on share a hash code in groups of 16 in a <see cref="ChurnableIntMap"/>.</summary>
        public const int ChurnBase = 1 << 24;

        /// <summary>
        /// Like <see cref="IntMap"/>, with a comparer that spreads keys below <see cref="ChurnBase"/>
        /// as usual but gives keys from <see cref="ChurnBase"/> on one hash code per 16, so that
        /// <see cref="ChurnUntilSameSizeGrowing"/> can pile up overflow buckets.
        /// </summary>
        public static GoMap<int, long> ChurnableIntMap(int n, ulong seed, ConcurrencyChecks checks = ConcurrencyChecks.Go)
        {
            var comparer = new CollidingComparer<int>(EqualityComparer<int>.Default, k => k < ChurnBase ? k : k >> 4);
            var map = new GoMap<int, long>(new GoMapOptions { Seed = seed, ConcurrencyChecks = checks }, comparer);
            for (int i = 0; i < n; i++)
            {
                map.Add(i, i * 10L);
            }

            return map;
        }

        /// <summary>
        /// Adds 16 keys that share a bucket and removes them again, group after group, until the
        /// overflow buckets left behind start a same-size growth (Go's tooManyOverflowBuckets):
        /// the map is set to leave them linked, as Go's mapdelete does (KeepEmptyOverflowLikeGoForTest).
        /// Needs a <see cref="ChurnableIntMap"/>; touches only keys from <see cref="ChurnBase"/> on.
        /// Stops right after the write that started the growth.
        /// </summary>
        public static void ChurnUntilSameSizeGrowing(GoMap<int, long> map)
        {
            map.KeepEmptyOverflowLikeGoForTest();
            int b = map.GetStats().B;
            for (int group = ChurnBase; group < ChurnBase + (1 << 22); group += 16)
            {
                for (int pass = 0; pass < 2; pass++)
                {
                    for (int k = group; k < group + 16; k++)
                    {
                        if (pass == 0)
                        {
                            map.Add(k, k * 10L);
                        }
                        else
                        {
                            map.Remove(k);
                        }

                        GoMapStats s = map.GetStats();
                        Assert.True(s.B == b, $"the churn doubled the map instead of compacting it: {s}");
                        if (s.IsGrowing && s.IsSameSizeGrow)
                        {
                            return;
                        }
                    }
                }
            }

            throw new InvalidOperationException("the churn never started a same-size growth: " + map.GetStats());
        }

        /// <summary>Writes (update of an existing key) until the growth in progress is complete.</summary>
        public static void FinishGrowth<TKey, TValue>(GoMap<TKey, TValue> map, TKey existingKey, TValue value)
            where TKey : unmanaged
            where TValue : unmanaged
        {
            for (int guard = 0; map.GetStats().IsGrowing; guard++)
            {
                Assert.True(guard < 10_000_000, "growth never finished");
                map[existingKey] = value;
            }
        }
    }
}
