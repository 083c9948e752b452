/*
 * sizes.c - background folder sizes (sizes.h).
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sizes.h"

#define SIZES_CACHE_MAX 4096
#define SIZES_DEPTH_MAX 256

struct sizes_entry {
	char *path;
	uint64_t bytes;
};

struct sizes {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int wake_fd;
	int stop;			/* under lock */
	unsigned gen;			/* bumped by each sizes_want: the walk restarts */
	char **queue;			/* under lock */
	size_t nqueue, qpos;
	struct sizes_entry *cache;	/* under lock, a ring */
	size_t ncache, cnext;
};

static void
sizes_store(struct sizes *s, const char *path, uint64_t bytes)
{
	char *copy = strdup(path);

	if (copy == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->ncache < SIZES_CACHE_MAX) {
		s->cache[s->ncache].path = copy;
		s->cache[s->ncache++].bytes = bytes;
	} else {
		free(s->cache[s->cnext].path);
		s->cache[s->cnext].path = copy;
		s->cache[s->cnext].bytes = bytes;
		s->cnext = (s->cnext + 1) % SIZES_CACHE_MAX;
	}
	pthread_mutex_unlock(&s->lock);
}

/* Sum below dirfd; 0, or -1 when the walk was superseded. */
static int
sizes_walk(struct sizes *s, int dirfd, unsigned gen, int depth, uint64_t *total)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;
	int rc = 0;

	if (d == NULL) {
		close(dirfd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		int again;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		pthread_mutex_lock(&s->lock);
		again = s->stop || s->gen != gen;
		pthread_mutex_unlock(&s->lock);
		if (again) {
			rc = -1;
			break;
		}
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth < SIZES_DEPTH_MAX) {
			int fd = openat(dirfd, de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (fd >= 0 && sizes_walk(s, fd, gen, depth + 1, total) != 0) {
				rc = -1;
				break;
			}
		} else if (S_ISREG(st.st_mode)) {
			*total += (uint64_t)st.st_size;
		}
	}
	closedir(d);
	return rc;
}

static void *
sizes_main(void *arg)
{
	struct sizes *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		char *path;
		unsigned gen;
		uint64_t total = 0;
		int fd, known = 0;

		while (!s->stop && s->qpos >= s->nqueue)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->stop)
			break;
		path = s->queue[s->qpos++];
		gen = s->gen;
		for (size_t i = 0; i < s->ncache; i++)
			if (strcmp(s->cache[i].path, path) == 0)
				known = 1;
		/* a copy: sizes_want may free the queue while this walk runs */
		if (known || (path = strdup(path)) == NULL)
			continue;
		pthread_mutex_unlock(&s->lock);
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && sizes_walk(s, fd, gen, 0, &total) == 0) {
			char c = 1;

			sizes_store(s, path, total);
			(void)!write(s->wake_fd, &c, 1);
		}
		free(path);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

struct sizes *
sizes_start(int wake_fd)
{
	struct sizes *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->cache = calloc(SIZES_CACHE_MAX, sizeof(*s->cache));
	if (s->cache == NULL) {
		free(s);
		return NULL;
	}
	s->wake_fd = wake_fd;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (pthread_create(&s->thread, NULL, sizes_main, s) != 0) {
		free(s->cache);
		free(s);
		return NULL;
	}
	return s;
}

static void
sizes_queue_free(struct sizes *s)
{
	for (size_t i = 0; i < s->nqueue; i++)
		free(s->queue[i]);
	free(s->queue);
	s->queue = NULL;
	s->nqueue = s->qpos = 0;
}

void
sizes_want(struct sizes *s, char *const *paths, size_t n)
{
	char **q = n ? calloc(n, sizeof(*q)) : NULL;
	size_t k = 0;

	for (size_t i = 0; q != NULL && i < n; i++)
		if ((q[k] = strdup(paths[i])) != NULL)
			k++;
	pthread_mutex_lock(&s->lock);
	sizes_queue_free(s);
	s->queue = q;
	s->nqueue = k;
	s->gen++;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

int
sizes_get(struct sizes *s, const char *path, uint64_t *bytes)
{
	int found = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->ncache && !found; i++) {
		if (strcmp(s->cache[i].path, path) == 0) {
			*bytes = s->cache[i].bytes;
			found = 1;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return found;
}

void
sizes_forget(struct sizes *s)
{
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->ncache; i++)
		free(s->cache[i].path);
	s->ncache = s->cnext = 0;
	s->gen++;
	pthread_mutex_unlock(&s->lock);
}

void
sizes_stop(struct sizes *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	sizes_queue_free(s);
	for (size_t i = 0; i < s->ncache; i++)
		free(s->cache[i].path);
	free(s->cache);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
