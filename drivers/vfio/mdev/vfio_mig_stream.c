// SPDX-License-Identifier: GPL-2.0-only
/*
 * vfio-mig engine: the record codec of the device data stream.  It knows
 * records, not front-ends or sessions' life cycles (vfio_mig_session.c).
 *
 * Producer: each chunk a front-end asks for carries the HEADER record
 * first, then MEM_PAGE records for dirty device-memory pages, and once the
 * device is stopped the driver's state records and END, which were
 * serialised at the stop (vfio_mig_state_save()).
 *
 * Parser: bytes a front-end hands over are parsed incrementally, each
 * read once.  Each record header is checked as soon as its 16 bytes are in
 * (type allowed at this point, length bound, sequence number).  A
 * device-memory page goes straight into the quiesced device as its bytes
 * arrive, once the offset in front of it was checked; the record's CRC32C
 * is summed in the same pass and checked at its end.  Other payloads are
 * copied into the session's buffer, summed in the same pass, and checked
 * when complete (the CRC, then the content: magic, version and identity,
 * or the driver's check); the driver's records are staged, for the
 * session to apply once the stream is complete and valid.  A refused
 * stream may leave pages in the device: the session then ends with the
 * device reset (vfio_mig_resume_fail()).
 *
 * Device memory moves in and out through the driver's mem_read and
 * mem_write, which copy with vfio_mig_copy(): summed in the same pass.
 *
 * Copyright (c) 2026 The vfio-mig authors
 *
 * Locking: every function here runs with core->lock held.
 */

#include <linux/vfio_mig_compat.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "vfio_mig_priv.h"

/* The raw CRC32C of a record header, its crc field taken as 0. */
static u32 crc_of_hdr(const struct vfio_mig_record_hdr *h)
{
	struct vfio_mig_record_hdr tmp = *h;

	tmp.crc = 0;
	return vfio_mig_crc32c(~0U, &tmp, sizeof(tmp));
}

/* A record's crc field: over its header (crc 0) and payload. */
u32 vfio_mig_crc(const struct vfio_mig_record_hdr *h, const void *p, u32 len)
{
	return ~vfio_mig_crc32c(crc_of_hdr(h), p, len);
}

/* Lay out a record whose payload already sits after the header at @dst. */
static void rec_seal(u8 *dst, u32 type, u32 seq, u32 len)
{
	struct vfio_mig_record_hdr h = {
		.type = cpu_to_le32(type),
		.length = cpu_to_le32(len),
		.seq = cpu_to_le32(seq),
	};

	h.crc = cpu_to_le32(vfio_mig_crc(&h, dst + sizeof(h), len));
	memcpy(dst, &h, sizeof(h));
}

/**
 * vfio_mig_emit() - append one record to a save stream
 * @s: the stream handed to ops->save_state
 * @type: record type, VFIO_MIG_REC_DRIVER_BASE or above
 * @p: payload (little-endian, no padding, no raw kernel structs)
 * @len: payload length, at most cfg.max_record
 *
 * Return: 0, or the first error of this stream (-EINVAL for a bad type or
 * length); later calls keep returning it.
 */
int vfio_mig_emit(struct vfio_mig_stream *s, u32 type, const void *p,
		  u32 len)
{
	size_t need = VFIO_MIG_REC_HDR + len;

	if (s->err)
		return s->err;
	if (type < VFIO_MIG_REC_DRIVER_BASE || len > VFIO_MIG_MAX_RECORD) {
		s->err = -EINVAL;
		return s->err;
	}
	if (s->buf) {
		if (s->len + need > s->cap) {
			s->err = -EINVAL;
			return s->err;
		}
		memcpy(s->buf + s->len + VFIO_MIG_REC_HDR, p, len);
		rec_seal(s->buf + s->len, type, s->seq, len);
	}
	s->len += need;
	s->seq++;
	return 0;
}
EXPORT_SYMBOL_GPL(vfio_mig_emit);

/**
 * vfio_mig_copy() - move device memory for the engine
 * @c: the copier the engine passed to ops->mem_read or ops->mem_write
 * @dst: where to
 * @src: from where; each byte is read once
 * @len: bytes to move
 *
 * The only way a driver's mem_read and mem_write may move bytes: the
 * engine sums them in the same pass (the stream's CRC32C).  Calls for the
 * pieces of one mem_read or mem_write come in the order of the bytes.
 */
void vfio_mig_copy(struct vfio_mig_copy *c, void *dst, const void *src,
		   size_t len)
{
	c->crc = vfio_mig_crc32c_copy(c->crc, dst, src, len, c->to_device);
	c->done += len;
}
EXPORT_SYMBOL_GPL(vfio_mig_copy);

size_t vfio_mig_identity(struct vfio_mig_core *core, u8 *buf)
{
	size_t n = core->cfg.ops->identity(core->mig, buf, VFIO_MIG_MAX_IDENTITY);

	return min_t(size_t, n, VFIO_MIG_MAX_IDENTITY);
}

static size_t header_rec_size(struct vfio_mig_core *core)
{
	u8 id[VFIO_MIG_MAX_IDENTITY];

	return VFIO_MIG_REC_HDR + sizeof(struct vfio_mig_stream_header) +
	       vfio_mig_identity(core, id);
}

/* Size of the stop-time state (driver records and END), measured. */
int vfio_mig_state_size(struct vfio_mig_core *core, size_t *size)
{
	struct vfio_mig_stream s = { };
	int ret = core->cfg.ops->save_state(core->mig, &s);

	if (ret || s.err)
		return ret ?: s.err;
	*size = s.len + VFIO_MIG_REC_HDR;
	return 0;
}

/*
 * Serialise the stop-time state into @buf, @size bytes as
 * vfio_mig_state_size() measured: the driver's records numbered from @seq,
 * then END.  -EIO if the driver emitted another size than it measured.
 */
int vfio_mig_state_save(struct vfio_mig_core *core, u8 *buf, size_t size,
			u32 seq)
{
	struct vfio_mig_stream s = { .buf = buf, .cap = size, .seq = seq };
	int ret;

	ret = core->cfg.ops->save_state(core->mig, &s);
	if (!ret)
		ret = s.err;
	if (!ret && s.len + VFIO_MIG_REC_HDR != size)
		ret = -EIO;
	if (!ret)
		rec_seal(buf + s.len, VFIO_MIG_REC_END, s.seq, 0);
	return ret;
}

/*
 * The longest payload a resume session of this device keeps in its
 * buffer: a page record's offset only, its page goes into the device.
 */
u32 vfio_mig_max_payload(const struct vfio_mig_core *core)
{
	u32 max = max_t(u32, sizeof(struct vfio_mig_mem_page),
			sizeof(struct vfio_mig_stream_header) +
			VFIO_MIG_MAX_IDENTITY);

	return max(max, core->cfg.max_record);
}

/* The most page records one chunk can carry. */
u64 vfio_mig_max_taken(const struct vfio_mig_core *core)
{
	return core->cfg.mem_size ? core->cfg.data_size / VFIO_MIG_PAGE_REC : 0;
}

void vfio_mig_save_pending(struct vfio_mig_core *core, u64 *precopy,
			   u64 *postcopy)
{
	struct vfio_mig_save *save = core->save;
	u64 early;
	size_t size = 0;

	lockdep_assert_held(&core->lock);
	*precopy = 0;
	*postcopy = 0;
	if (!save)
		return;
	early = vfio_mig_mem_dirty_count(core) * VFIO_MIG_PAGE_REC;
	if (!save->header_sent)
		early += header_rec_size(core);
	if (save->state) {
		*postcopy = early + save->state_len - save->state_off;
		return;
	}
	*precopy = early;
	if (!vfio_mig_state_size(core, &size))
		*postcopy = size;
}

/*
 * What is left of the save's first pass and not yet in a chunk: the header
 * if unsent, and the pages at and after the cursor while its first round
 * lasts (the round starts with every page dirty and takes each set bit in
 * order, so every page behind the cursor went out once and every page
 * ahead of it is still to go).  Part of vfio_mig_save_pending()'s pre-copy
 * count, never more.
 */
u64 vfio_mig_save_initial(struct vfio_mig_core *core)
{
	struct vfio_mig_save *save = core->save;
	u64 npages = core->cfg.mem_size >> PAGE_SHIFT;
	u64 bytes = 0;

	lockdep_assert_held(&core->lock);
	if (!save || save->state)
		return 0;
	if (!save->header_sent)
		bytes += header_rec_size(core);
	if (core->mem_dirty && !save->swept && save->next_page < npages)
		bytes += (npages - save->next_page) * VFIO_MIG_PAGE_REC;
	return bytes;
}

/* Bytes a save would still produce: the whole stream if none runs. */
u64 vfio_mig_save_estimate(struct vfio_mig_core *core)
{
	size_t size = 0;
	u64 pre, post;

	lockdep_assert_held(&core->lock);
	if (core->save) {
		vfio_mig_save_pending(core, &pre, &post);
		return pre + post;
	}
	vfio_mig_state_size(core, &size);
	return header_rec_size(core) + size +
	       (core->cfg.mem_size >> PAGE_SHIFT) * VFIO_MIG_PAGE_REC;
}

/*
 * Records land at any byte offset of a chunk: their fields are laid out
 * in a struct on the stack and copied, never stored through a cast.
 */
static size_t put_header_rec(struct vfio_mig_core *core, u8 *dst)
{
	struct vfio_mig_stream_header sh = {
		.magic = cpu_to_le64(VFIO_MIG_STREAM_MAGIC),
		.major = cpu_to_le16(VFIO_MIG_STREAM_MAJOR),
		.minor = cpu_to_le16(VFIO_MIG_STREAM_MINOR),
	};
	u8 *id = dst + VFIO_MIG_REC_HDR + sizeof(sh);
	size_t idlen = vfio_mig_identity(core, id);

	sh.identity_len = cpu_to_le32(idlen);
	memcpy(dst + VFIO_MIG_REC_HDR, &sh, sizeof(sh));
	rec_seal(dst, VFIO_MIG_REC_HEADER, core->save->seq++,
		 sizeof(sh) + idlen);
	return VFIO_MIG_REC_HDR + sizeof(sh) + idlen;
}

/*
 * A page record: the header's fields (crc 0) and the offset are summed
 * first, in one call, then the page in the pass that the driver's
 * mem_read copies it with.
 */
static size_t put_mem_page(struct vfio_mig_core *core, u8 *dst, u64 page)
{
	struct {
		struct vfio_mig_record_hdr h;
		struct vfio_mig_mem_page mp;
	} __packed rec = {
		.h.type = cpu_to_le32(VFIO_MIG_REC_MEM_PAGE),
		.h.length = cpu_to_le32(VFIO_MIG_PAGE_REC - VFIO_MIG_REC_HDR),
		.h.seq = cpu_to_le32(core->save->seq++),
		.mp.offset = cpu_to_le64(page << PAGE_SHIFT),
	};
	struct vfio_mig_copy c = { };

	BUILD_BUG_ON(sizeof(rec) != VFIO_MIG_PAGE_REC - VFIO_MIG_STREAM_PAGE_SIZE);
	c.crc = vfio_mig_crc32c(~0U, &rec, sizeof(rec));
	core->cfg.ops->mem_read(core->mig, page << PAGE_SHIFT,
				dst + sizeof(rec), VFIO_MIG_STREAM_PAGE_SIZE,
				&c);
	/* A driver that copied otherwise sends a record no one accepts. */
	WARN_ON_ONCE(c.done != VFIO_MIG_STREAM_PAGE_SIZE);
	rec.h.crc = cpu_to_le32(~c.crc);
	memcpy(dst, &rec, sizeof(rec));
	return VFIO_MIG_PAGE_REC;
}

/*
 * Fill @dst (@cap bytes, at least VFIO_MIG_MIN_CHUNK) with the next part
 * of the stream and return its size: the header and dirty pages while the
 * device runs; once it is stopped also the state records and END.
 */
u64 vfio_mig_save_chunk(struct vfio_mig_core *core, u8 *dst, u64 cap)
{
	struct vfio_mig_save *save = core->save;
	u64 npages = core->cfg.mem_size >> PAGE_SHIFT;
	u64 pos = 0;

	lockdep_assert_held(&core->lock);
	if (WARN_ON(!save || cap < VFIO_MIG_MIN_CHUNK ||
		    cap > core->cfg.data_size))
		return 0;
	/* Where the stream was, should the chunk have to be taken back. */
	save->undo.header_sent = save->header_sent;
	save->undo.seq = save->seq;
	save->undo.state_off = save->state_off;
	save->undo.next_page = save->next_page;
	save->undo.swept = save->swept;
	save->ntaken = 0;
	if (!save->header_sent) {
		pos += put_header_rec(core, dst);
		save->header_sent = true;
	}
	/*
	 * Dirty pages in a round from where the last one stopped (each
	 * search from page 0 would rescan every cleared word: quadratic in
	 * the device's size); a page dirtied behind the cursor comes next
	 * round.
	 */
	while (core->mem_dirty && pos + VFIO_MIG_PAGE_REC <= cap) {
		u64 page = find_next_bit(core->mem_dirty, npages,
					 save->next_page);

		if (page >= npages) {
			/* The first round, if this was it, is over. */
			save->swept = true;
			page = find_first_bit(core->mem_dirty, npages);
		}
		if (page >= npages)
			break;
		save->next_page = page + 1;
		/* Clear before reading: a later write dirties it again. */
		clear_bit(page, core->mem_dirty);
		save->taken[save->ntaken++] = page;
		pos += put_mem_page(core, dst + pos, page);
	}
	if (save->state && !vfio_mig_mem_dirty_count(core)) {
		u64 n = min_t(u64, cap - pos,
			      save->state_len - save->state_off);

		memcpy(dst + pos, save->state + save->state_off, n);
		save->state_off += n;
		pos += n;
	}
	return pos;
}

/*
 * Take back the last chunk of vfio_mig_save_chunk(): the stream returns to
 * where it was and the pages the chunk carried count as dirty again, so
 * the next chunk is the same one (with current page contents).
 */
void vfio_mig_save_unchunk(struct vfio_mig_core *core)
{
	struct vfio_mig_save *save = core->save;
	unsigned long flags;
	u64 i;

	lockdep_assert_held(&core->lock);
	if (WARN_ON(!save))
		return;
	save->header_sent = save->undo.header_sent;
	save->seq = save->undo.seq;
	save->state_off = save->undo.state_off;
	save->next_page = save->undo.next_page;
	save->swept = save->undo.swept;
	spin_lock_irqsave(&core->track_lock, flags);
	for (i = 0; i < save->ntaken; i++)
		set_bit(save->taken[i], core->mem_dirty);
	spin_unlock_irqrestore(&core->track_lock, flags);
	save->ntaken = 0;
}

/* ---------------------------------------------------------------------- */
/* Resume */

/* A record header is complete: may this record come here? */
static int check_rec_header(struct vfio_mig_core *core,
			    struct vfio_mig_resume *r)
{
	const struct vfio_mig_record_hdr *h = (const void *)r->hdr;
	u32 type = le32_to_cpu(h->type), len = le32_to_cpu(h->length);
	unsigned int next = r->next_state;

	if (le32_to_cpu(h->seq) != r->seq)
		return -EINVAL;
	switch (r->phase) {
	case VFIO_MIG_WANT_HEADER:
		if (type != VFIO_MIG_REC_HEADER ||
		    len < sizeof(struct vfio_mig_stream_header) ||
		    len > sizeof(struct vfio_mig_stream_header) +
			  VFIO_MIG_MAX_IDENTITY)
			return -EINVAL;
		break;
	case VFIO_MIG_WANT_BODY:
		if (type == VFIO_MIG_REC_MEM_PAGE) {
			if (!core->cfg.mem_size || next ||
			    len != VFIO_MIG_PAGE_REC - VFIO_MIG_REC_HDR)
				return -EINVAL;
		} else if (type == VFIO_MIG_REC_END) {
			if (len || next != core->cfg.nr_state_types)
				return -EINVAL;
		} else if (next >= core->cfg.nr_state_types ||
			   type != core->cfg.state_types[next] ||
			   len > core->cfg.max_record) {
			return -EINVAL;
		}
		break;
	default:
		return -EINVAL;
	}
	r->type = type;
	r->len = len;
	r->have = 0;
	r->crc = crc_of_hdr(h);	/* the payload adds to it as it is copied */
	r->in_payload = true;
	return 0;
}

static int accept_header(struct vfio_mig_core *core,
			 struct vfio_mig_resume *r)
{
	const struct vfio_mig_stream_header *sh = (const void *)r->payload;
	u8 id[VFIO_MIG_MAX_IDENTITY];
	size_t idlen = vfio_mig_identity(core, id);

	if (le64_to_cpu(sh->magic) != VFIO_MIG_STREAM_MAGIC ||
	    le16_to_cpu(sh->major) != VFIO_MIG_STREAM_MAJOR ||
	    le16_to_cpu(sh->minor) > VFIO_MIG_STREAM_MINOR ||
	    le32_to_cpu(sh->identity_len) != r->len - sizeof(*sh) ||
	    r->len - sizeof(*sh) != idlen ||
	    memcmp(sh + 1, id, idlen))
		return -EINVAL;
	r->phase = VFIO_MIG_WANT_BODY;
	return 0;
}

/* A page record's offset is in: where its page will go. */
static int check_page_offset(struct vfio_mig_core *core,
			     struct vfio_mig_resume *r)
{
	const struct vfio_mig_mem_page *mp = (const void *)r->payload;
	u64 off = le64_to_cpu(mp->offset);

	if (off & (VFIO_MIG_STREAM_PAGE_SIZE - 1) ||
	    off >= core->cfg.mem_size)
		return -EINVAL;
	r->page_off = off;
	return 0;
}

/*
 * The next @n bytes of a page, into the quiesced device as they come,
 * summed in the same pass: the last copy of a page counts, and a refused
 * stream ends with the device reset (vfio_mig_resume_fail()).
 */
static void feed_page(struct vfio_mig_core *core, struct vfio_mig_resume *r,
		      const u8 *src, u32 n)
{
	struct vfio_mig_copy c = { .crc = r->crc, .to_device = true };
	u64 at = r->page_off + r->have - sizeof(struct vfio_mig_mem_page);

	core->cfg.ops->mem_write(core->mig, at, src, n, &c);
	WARN_ON_ONCE(c.done != n);
	r->crc = c.crc;
}

/* A page record passed its CRC: its page counts as received. */
static int accept_page(struct vfio_mig_core *core,
		       struct vfio_mig_resume *r)
{
	if (!test_and_set_bit(r->page_off >> PAGE_SHIFT, r->received))
		r->npages++;
	return 0;
}

/* Where the validated state record @i is kept until it is applied. */
static u8 *state_rec(struct vfio_mig_core *core, struct vfio_mig_resume *r,
		     unsigned int i)
{
	return r->records + (size_t)i * core->cfg.max_record;
}

/* The validated state record @i of a complete stream. */
const u8 *vfio_mig_resume_record(struct vfio_mig_core *core, unsigned int i)
{
	return state_rec(core, core->resume, i);
}

static int accept_state(struct vfio_mig_core *core,
			struct vfio_mig_resume *r)
{
	unsigned int i = r->next_state;
	int ret;

	ret = core->cfg.ops->check_record(core->mig, r->type, r->payload, r->len);
	if (ret)
		return -EINVAL;
	/* check_rec_header() bounded r->len by cfg.max_record. */
	memcpy(state_rec(core, r, i), r->payload, r->len);
	r->state_len[i] = r->len;
	r->next_state++;
	return 0;
}

/* A record is complete: check its CRC and content, then keep it. */
static int accept_record(struct vfio_mig_core *core,
			 struct vfio_mig_resume *r)
{
	const struct vfio_mig_record_hdr *h = (const void *)r->hdr;
	int ret;

	if (le32_to_cpu(h->crc) != ~r->crc)
		return -EINVAL;
	switch (r->type) {
	case VFIO_MIG_REC_HEADER:
		ret = accept_header(core, r);
		break;
	case VFIO_MIG_REC_MEM_PAGE:
		ret = accept_page(core, r);
		break;
	case VFIO_MIG_REC_END:
		/* Complete only if every page of device memory arrived. */
		ret = r->npages == core->cfg.mem_size >> PAGE_SHIFT ?
		      0 : -EINVAL;
		if (!ret)
			r->phase = VFIO_MIG_DONE;
		break;
	default:
		ret = accept_state(core, r);
		break;
	}
	if (ret)
		return ret;
	r->seq++;
	r->in_payload = false;
	r->hdr_have = 0;
	return 0;
}

static int feed(struct vfio_mig_core *core, const u8 *src, u64 n)
{
	struct vfio_mig_resume *r = core->resume;
	int ret;

	while (n) {
		u64 take;

		if (r->phase == VFIO_MIG_DONE)
			return -EINVAL;	/* bytes after END */
		if (!r->in_payload) {
			take = min_t(u64, n, sizeof(r->hdr) - r->hdr_have);
			memcpy(r->hdr + r->hdr_have, src, take);
			r->hdr_have += take;
			src += take;
			n -= take;
			if (r->hdr_have < sizeof(r->hdr))
				break;
			ret = check_rec_header(core, r);
			if (ret)
				return ret;
		} else {
			const u32 mp = sizeof(struct vfio_mig_mem_page);
			bool page = r->type == VFIO_MIG_REC_MEM_PAGE;

			take = min_t(u64, n, r->len - r->have);
			if (page && r->have >= mp) {
				feed_page(core, r, src, take);
			} else {
				if (page)	/* the offset, kept */
					take = min_t(u64, take, mp - r->have);
				r->crc = vfio_mig_crc32c_copy(r->crc,
							      r->payload + r->have,
							      src, take, false);
			}
			r->have += take;
			src += take;
			n -= take;
			if (page && r->have == mp) {
				ret = check_page_offset(core, r);
				if (ret)
					return ret;
			}
		}
		if (r->in_payload && r->have == r->len) {
			ret = accept_record(core, r);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/*
 * Consume @size bytes at @src (a kernel buffer: the data section, or a v2
 * data file's buffer) as the next part of the stream.  An error latches:
 * the session accepts nothing more.
 */
int vfio_mig_resume_feed(struct vfio_mig_core *core, const u8 *src,
			 u64 size)
{
	struct vfio_mig_resume *r = core->resume;
	int ret;

	lockdep_assert_held(&core->lock);
	if (WARN_ON(!r))
		return -EINVAL;
	if (r->failed)
		return -EINVAL;
	ret = feed(core, src, size);
	/* Part of the buffer may have been consumed: never retry it. */
	if (ret)
		r->failed = true;
	return ret;
}


/* Whether the stream fed so far is complete and valid. */
bool vfio_mig_resume_complete(struct vfio_mig_core *core)
{
	struct vfio_mig_resume *r = core->resume;

	lockdep_assert_held(&core->lock);
	return r && !r->failed && r->phase == VFIO_MIG_DONE;
}
