using System.Collections.Generic;
using Xunit;

namespace NativeGoMap.Tests
{
    public class SmokeTests
    {
        [Fact]
        public void InsertLookupDeleteAgreeWithDictionary()
        {
            // The operations and the map's hash seed both come from the run's seed, which a
            // failure prints (Seeded): a failure that depends on where the keys land replays.
            Seeded.Run(seed =>
            {
                using var map = new GoMap<long, long>(new GoMapOptions { Seed = (ulong)seed });
                var model = new Dictionary<long, long>();
                var rng = new System.Random(seed);
                for (int op = 0; op < 200_000; op++)
                {
                    long k = rng.Next(5000);
                    switch (rng.Next(4))
                    {
                        case 0: map[k] = op; model[k] = op; break;
                        case 1: Assert.Equal(model.Remove(k), map.Remove(k)); break;
                        default:
                            Assert.Equal(model.TryGetValue(k, out long v), map.TryGetValue(k, out long w));
                            Assert.Equal(v, w);
                            break;
                    }
                    if (op % 20000 == 0) map.Validate();
                }
                map.Validate();
                Assert.Equal(model.Count, map.Count);
                var seen = new Dictionary<long, long>();
                foreach (var kv in map) seen.Add(kv.Key, kv.Value);
                Assert.Equal(model, seen);
            });
        }
    }
}
